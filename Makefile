# The two commands of the README, over meson. `make demo` and `make test` install what is
# missing (Debian packages, as root), build, and run.
BUILD ?= build
MESON_OPTS ?= -Db_sanitize=address,undefined -Db_lundef=false
ifneq ($(CI),)
MESON_OPTS += --werror
endif

.PHONY: all deps build demo test unit integration fuzz clean

all: build

deps:
	@tools/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

demo: build
	@tests/vm/demo $(BUILD)

test: build
	@tests/run-all $(BUILD)

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

integration: build
	meson test -C $(BUILD) --suite integration --print-errorlogs

clean:
	rm -rf $(BUILD) build-fuzz
