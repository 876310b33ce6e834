# Runs portable test modules on MicroPython: imports each module named on the
# command line, calls every test_* function, prints one line per test and a
# summary.  Exit status 1 if anything failed.  (pytest runs the same files on
# CPython; tests/test_micropython.py drives this runner.)
import sys


def _skip_exc():
    class Skipped(Exception):
        pass
    return Skipped


def main(names):
    import io
    failed = 0
    passed = 0
    for name in names:
        try:
            mod = __import__(name)
        except Exception as e:
            failed += 1
            buf = io.StringIO()
            sys.print_exception(e, buf)
            print("FAIL {} (import)\n{}".format(name, buf.getvalue()))
            continue
        for attr in sorted(dir(mod)):
            fn = getattr(mod, attr)
            if not attr.startswith("test_") or not callable(fn):
                continue
            try:
                fn()
                passed += 1
                print("PASS {}.{}".format(name, attr))
            except Exception as e:
                failed += 1
                buf = io.StringIO()
                sys.print_exception(e, buf)
                print("FAIL {}.{}\n{}".format(name, attr, buf.getvalue()))
    print("SUMMARY passed={} failed={}".format(passed, failed))
    sys.exit(1 if failed else 0)


main(sys.argv[1:])
