# needlepen: runs at power-on after boot.py.  board.py is the board
# definition `needlepen deploy` wrote (one of boards/*.py, flattened).
from board import BOARD

from pen.startup import run

run(BOARD)
