# Sprig: the two commands a user needs are `make demo` and `make test`.
PYTHON ?= python3
BENCH ?=
export PYTHON

.PHONY: setup test demo bench clean

## setup: Debian packages, MicroPython from Debian's source (unix port + QEMU firmware), pip install -e .[test]
setup:
	@bash qemu/setup_host.sh
	@bash qemu/fetch_micropython.sh
	@bash qemu/build_micropython.sh
	@bash qemu/install_project.sh

## test: setup, then every test on CPython, MicroPython unix and MicroPython firmware in QEMU
test: setup
	$(PYTHON) -m pytest $(PYTEST_ARGS)

## demo: setup, then the story end to end on an emulated device
demo: setup
	$(PYTHON) -m host_tools.demo

## bench: speed and memory goals, one JSON object per line (BENCH=group for one group)
bench: setup
	$(PYTHON) -m bench $(BENCH)

clean:
	rm -rf build
