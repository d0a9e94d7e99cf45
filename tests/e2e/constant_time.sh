# Constant time: the crypto primitives run under valgrind with their
# secret inputs marked undefined (tests/tools/ct_check.cc), and memcheck
# finds no branch, conditional move or memory index that depends on them.
# So that this can't pass by checking nothing, a deliberately secret-
# dependent branch and table index must be caught. Sourced by tests/e2e.sh.
# compress: skip: it times the crypto under valgrind; no transfer

if [ ! -x "$TOOLS/ct_check" ]; then
  echo "SKIP constant time (no $TOOLS/ct_check)"
  return 0
fi
if ! command -v valgrind >/dev/null 2>&1; then
  echo "SKIP constant time: valgrind not installed (apt-get install valgrind)"
  return 0
fi
if "$TOOLS/ct_check" --self-test 2>&1 | grep -q 'built without <valgrind/memcheck.h>'; then
  echo "SKIP constant time: ct_check was built without valgrind's headers (apt-get install valgrind, then rebuild)"
  return 0
fi

# Exit 9 is valgrind's when it reported an error (--error-exitcode), so
# it can't be mistaken for the tool's own failure (1) or usage error (2).
ct_valgrind() { valgrind --error-exitcode=9 --track-origins=yes -q "$TOOLS/ct_check" "$@"; }

ct_valgrind >"$WORK/ct.out" 2>"$WORK/ct.err"
ct_rc=$?
if [ $ct_rc -ne 0 ] && grep -q "debuginfo reader" "$WORK/ct.err"; then
  # valgrind 3.19 can't read clang 14's default DWARF 5; that says nothing
  # about the code.
  echo "SKIP constant time: valgrind can't read ct_check's debug info (build with -gdwarf-4): $(grep -m1 'debuginfo' "$WORK/ct.err")"
  return 0
fi
if [ $ct_rc -ne 0 ]; then
  grep -A3 'depends on uninitialised\|Use of uninitialised' "$WORK/ct.err" | head -40 | sed 's/^/    /'
  grep '^FAIL' "$WORK/ct.out" | sed 's/^/    /'
fi
check "the primitives branch and index on no secret under valgrind (exit $ct_rc)" test $ct_rc -eq 0
check "ct_check ran to its end with every output as on defined inputs" \
  grep -q '^ct_check: [0-9]* checked, all ok$' "$WORK/ct.out"
check "the AVX2 loop was checked where the CPU has it" \
  bash -c "! grep -q '^flags.* avx2' /proc/cpuinfo 2>/dev/null || grep -q '^ok ChaCha20Xor AVX2 loop' '$WORK/ct.out'"

expect_exit "a branch on a secret byte is caught (valgrind exits 9)" 9 ct_valgrind --self-test
check "valgrind names it a conditional jump on an uninitialised value" \
  grep -q 'Conditional jump or move depends on uninitialised value' "$WORK/last.err"
expect_exit "a table index by a secret byte is caught (valgrind exits 9)" 9 ct_valgrind --self-test-index
check "valgrind names it a use of an uninitialised value" \
  grep -q 'Use of uninitialised value of size' "$WORK/last.err"
