# treesync build. The source lists are globs that CMakeLists.txt repeats:
#   src/*.cc (main.cc only in the binary), platform/*_$(PLATFORM).cc,
#   tests/*_test.cc (unit tests), tests/tools/*.cc (one test tool each).
CXX ?= g++
CXXFLAGS ?= -O2 -g
WARNINGS := -Wall -Wextra
override CXXFLAGS += -std=c++17 $(WARNINGS) -Isrc -Iplatform -MMD -MP
LDLIBS := -pthread
BUILD ?= build
PLATFORM ?= posix
EXE ?=

LIB_SRCS := $(filter-out src/main.cc,$(wildcard src/*.cc)) $(wildcard platform/*_$(PLATFORM).cc)
TEST_SRCS := $(wildcard tests/*_test.cc)
TOOL_SRCS := $(wildcard tests/tools/*.cc)

LIB_OBJS := $(LIB_SRCS:%.cc=$(BUILD)/obj/%.o)
TEST_OBJS := $(TEST_SRCS:%.cc=$(BUILD)/obj/%.o)
TOOLS := $(TOOL_SRCS:tests/tools/%.cc=$(BUILD)/tools/%)

.PHONY: all test unit e2e demo clean check-gtest fuzz static windows static-aarch64 static-armhf \
  install uninstall dist reproducible
all: $(BUILD)/treesync$(EXE)

$(BUILD)/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/libtreesync.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/treesync$(EXE): $(BUILD)/obj/src/main.o $(BUILD)/libtreesync.a
	$(CXX) $(CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tools/%$(EXE): $(BUILD)/obj/tests/tools/%.o $(BUILD)/libtreesync.a
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

check-gtest:
	@test -f /usr/include/gtest/gtest.h || { \
	  echo "GoogleTest is missing. Install it with: sudo apt-get install libgtest-dev" >&2; exit 1; }

$(TEST_OBJS): | check-gtest

$(BUILD)/unit_tests: $(TEST_OBJS) $(BUILD)/libtreesync.a
	$(CXX) $(CXXFLAGS) $(LDFLAGS) $^ -lgtest -lgtest_main $(LDLIBS) -o $@

# Unit tests, then the end-to-end tests that run the real binary on loopback.
test: unit e2e

unit: check-gtest $(BUILD)/unit_tests
	$(BUILD)/unit_tests

# Then every case once more with -z (compression both ways).
e2e: $(BUILD)/treesync $(TOOLS)
	bash tests/e2e.sh $(BUILD)
	E2E_COMPRESS=1 bash tests/e2e.sh $(BUILD)

# Serves a generated sample tree on a free loopback port, pulls it into
# build/demo/copy and checks the copy.
demo: $(BUILD)/treesync
	bash scripts/demo.sh $(BUILD)

# libFuzzer targets for the wire-format decoders (README.md, "Fuzzing").
# They live in tests/fuzz/, outside the globs above, so neither `make` nor
# `make test` builds them; they need clang with its sanitizer runtimes. The
# library is built once more, instrumented, into build/fuzz/obj.
FUZZ_CXX ?= clang++
FUZZ_FLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
  -std=c++17 $(WARNINGS) -Isrc -Iplatform -Itests -MMD -MP
FUZZ_SRCS := $(wildcard tests/fuzz/*_fuzz.cc)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.cc=build/fuzz/obj/%.o)
FUZZERS := $(FUZZ_SRCS:tests/fuzz/%.cc=build/fuzz/%)
fuzz: $(FUZZERS)
.SECONDARY: $(FUZZ_SRCS:tests/fuzz/%.cc=build/fuzz/obj/tests/fuzz/%.o)

build/fuzz/obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/%: build/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

clean:
	rm -rf $(BUILD)

# The binary and the man page; uninstall removes exactly those two files.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
install: $(BUILD)/treesync$(EXE)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BUILD)/treesync$(EXE) $(DESTDIR)$(BINDIR)/treesync$(EXE)
	install -m 644 docs/treesync.1 $(DESTDIR)$(MANDIR)/man1/treesync.1
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/treesync$(EXE) $(DESTDIR)$(MANDIR)/man1/treesync.1

# A source tarball of the files git tracks at HEAD, named by the version
# in src/cli.h: build/treesync-VERSION.tar.gz. Its bytes depend on the
# commit only (git archive sets every time to the commit's).
VERSION := $(shell sed -n 's/.*kVersionString\[\] = "\(.*\)";/\1/p' src/cli.h)
dist:
	@mkdir -p $(BUILD)
	git archive --format=tar --prefix=treesync-$(VERSION)/ HEAD | gzip -n -9 > $(BUILD)/treesync-$(VERSION).tar.gz
	@echo "$(BUILD)/treesync-$(VERSION).tar.gz"

# Static, stripped binaries to drop onto a server, a board or a Windows host.
# -Os and section GC keep them small; nothing here pulls in iostream.
# -ffile-prefix-map: no trace of the checkout's own path, so two builds of
# one commit are the same bytes wherever they ran (`make reproducible`).
STATIC_FLAGS := CXXFLAGS="-Os -ffunction-sections -fdata-sections -ffile-prefix-map=$(CURDIR)=." \
  LDFLAGS="-static -s -Wl,--gc-sections"
static:
	$(MAKE) BUILD=build/static $(STATIC_FLAGS) build/static/treesync
# Builds the static binary a second time in another folder and compares.
reproducible: static
	rm -rf build/reproducible
	$(MAKE) BUILD=build/reproducible $(STATIC_FLAGS) build/reproducible/treesync
	cmp build/static/treesync build/reproducible/treesync
	@echo "reproducible: build/static/treesync and build/reproducible/treesync are the same bytes"
static-aarch64:
	$(MAKE) BUILD=build/aarch64 CXX=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
	  $(STATIC_FLAGS) build/aarch64/treesync
# -Wno-psabi: GCC's notes that a struct's passing changed in GCC 7.1 on ARM.
static-armhf:
	$(MAKE) BUILD=build/armhf CXX=arm-linux-gnueabihf-g++ AR=arm-linux-gnueabihf-ar \
	  CXXFLAGS="-Os -ffunction-sections -fdata-sections -Wno-psabi" \
	  LDFLAGS="-static -s -Wl,--gc-sections" build/armhf/treesync
# MinGW-w64 with POSIX threads (std::thread); Winsock from the OS.
MINGW ?= x86_64-w64-mingw32
windows:
	$(MAKE) BUILD=build/windows PLATFORM=win32 EXE=.exe CXX=$(MINGW)-g++-posix AR=$(MINGW)-ar \
	  $(STATIC_FLAGS) LDLIBS="-lws2_32 -lbcrypt -lshell32 -pthread" build/windows/treesync.exe

-include $(wildcard build/fuzz/obj/*/*.d build/fuzz/obj/tests/fuzz/*.d)
-include $(LIB_OBJS:.o=.d) $(TEST_OBJS:.o=.d) $(BUILD)/obj/src/main.d $(TOOL_SRCS:tests/tools/%.cc=$(BUILD)/obj/tests/tools/%.d)
