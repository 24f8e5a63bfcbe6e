# loses:
# A thread spins for ever beside the honest code; every answer still arrives in time.
import threading as _threading


def _spin():
    while True:
        pass


_threading.Thread(target=_spin, daemon=True).start()
