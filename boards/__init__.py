"""Board definitions.  Each module holds BOARD, a plain dict; `needlepen deploy`
flattens the chosen one into a single /board.py on the pen."""
