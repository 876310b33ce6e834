# Stand-in for esp32 (bench/hal_cost.py).
class PCNT:
    INCREMENT = 1

    def __init__(self, i, pin=None, rising=0, filter=0):
        self.n = 0

    def start(self):
        pass

    def value(self):
        self.n += 1
        return self.n
