# The man page, docs/treesync.1: groff renders it without a single warning
# (when groff is installed), with every option in ASCII hyphens; it
# documents exactly the options `treesync --help` lists, every one and no
# other (read from the roff source, so this runs without groff); its EXIT
# STATUS has every code of the README's exit code table and of --help; and
# `man -l` shows it (when man is installed). Needs no server.
# Sourced by tests/e2e.sh.
# compress: skip: nothing is transferred: it reads --help and a file

MAN=$HERE/../docs/treesync.1
MAN_README=$HERE/../README.md

# The options a --help text (file $1) lists, one a line, sorted: every
# long option anywhere in it; every short option that starts an option
# line ("  -e, --rsh COMMAND") or is in a usage line's brackets
# ("keygen [-C COMMENT]"); and --help, -h and --version, which a help text
# need not list about itself but the man page must document.
manpage_help_options() {
  {
    grep -oE -- '--[a-z][a-z-]*' "$1"
    sed -nE 's/^[[:space:]]+(-[a-zA-Z])([^[:alnum:]-].*)?$/\1/p' "$1"
    grep -oE -- '\[-[a-zA-Z][] ]' "$1" | cut -c2-3
    printf '%s\n' --help -h --version
  } | LC_ALL=C sort -u
}

# The man page's roff source with comments blanked (so line numbers stay)
# and \- decoded to -.
manpage_source() {
  sed -e 's/^\.\\".*//' -e 's/\\".*$//' -e 's/\\-/-/g' "$MAN"
}

# Tag lines (the line after .TP) of the section named $1, font escapes and
# a leading font macro (.B, .BR, .BI, ...) and quotes removed.
manpage_tags() {
  manpage_source | awk -v want="$1" '
    /^\.SH/ { name = $0; sub(/^\.SH[ \t]+/, "", name); gsub(/"/, "", name)
              in_section = (name == want); tag = 0; next }
    in_section && tag { print; tag = 0; next }
    in_section && /^\.TP/ { tag = 1 }' |
    sed -E 's/\\f(\[[^]]*\]|\(..|.)//g; s/^\.[BIR]+[[:space:]]+//; s/"//g'
}

# The options the man page documents, one a line, sorted: every long option
# anywhere in it, and every short option in a tag of COMMANDS
# (".TP" then "\fB\-e\fR, \fB\-\-rsh\fR \fICOMMAND\fR").
manpage_options() {
  {
    manpage_source | grep -oE -- '--[a-z][a-z-]*'
    manpage_tags COMMANDS | grep -oE -- '(^|[ ,])-[a-zA-Z]([ ,]|$)' | grep -oE -- '-[a-zA-Z]'
  } | LC_ALL=C sort -u
}

# manpage_same_set WHAT NAME_A FILE_A NAME_B FILE_B: whether the sorted
# lists FILE_A and FILE_B are equal; if not, says on stderr what each lacks.
manpage_same_set() {
  local only_a only_b
  only_a=$(LC_ALL=C comm -23 "$3" "$5" | tr '\n' ' ')
  only_b=$(LC_ALL=C comm -13 "$3" "$5" | tr '\n' ' ')
  [ -z "$only_a$only_b" ] && return 0
  [ -n "$only_a" ] && echo "    $1 in $2 but missing from $4: $only_a" >&2
  [ -n "$only_b" ] && echo "    $1 in $4 but missing from $2: $only_b" >&2
  return 1
}

# manpage_empty FILE: whether FILE is empty; if not, shows it on stderr.
manpage_empty() {
  [ ! -s "$1" ] && return 0
  head -10 "$1" | sed 's/^/    /' >&2
  return 1
}

# Whether every option in the source is written with \- (an ASCII
# hyphen-minus): a plain - before a letter, at the start of a word, is a
# hyphen to groff (U+2010 in UTF-8), which can't be copied into a shell.
manpage_hyphens_escaped() {
  local bad
  bad=$(sed -e 's/^\.\\".*//' -e 's/\\".*$//' "$MAN" |
    sed -E 's/\\f(\[[^]]*\]|\(..|.)/ /g; s/\\\(..|\\&/ /g' |
    grep -nE -- '(^|[^\\[:alnum:]])-{1,2}[a-zA-Z]')
  [ -z "$bad" ] && return 0
  echo "$bad" | head -5 | sed 's/^/    plain hyphen on line /' >&2
  return 1
}

# manpage_all_rendered OPTIONS_FILE TEXT_FILE: whether each option appears
# verbatim (ASCII hyphens, unbroken) in the rendered text.
manpage_all_rendered() {
  local opt missing=""
  while read -r opt; do
    grep -qF -e "$opt" "$2" || missing="$missing $opt"
  done < "$1"
  [ -z "$missing" ] && return 0
  echo "    not in the rendered page as typed:$missing" >&2
  return 1
}

check "the man page is at docs/treesync.1" test -s "$MAN"

# --help against the man page, both ways.
expect_exit "--help exits 0" 0 "$TS" --help
cp "$WORK/last.out" "$WORK/help.txt"
manpage_help_options "$WORK/help.txt" > "$WORK/help.options"
manpage_options > "$WORK/man.options"
check "--help lists options (at least 40 found)" test "$(wc -l < "$WORK/help.options")" -ge 40
check "the man page documents every option --help lists, and no other" \
  manpage_same_set options "--help" "$WORK/help.options" "the man page" "$WORK/man.options"
check "options in the man page are written \\- (ASCII hyphen-minus)" manpage_hyphens_escaped

# Exit codes: the README's table and --help's list against EXIT STATUS.
# (A table row is "| 23 | partial transfer ... |", the code maybe in `...`.)
# shellcheck disable=SC2016
sed -n '/^#\{1,\} *Exit codes/,/^#/p' "$MAN_README" |
  sed -nE 's/^\|[[:space:]]*`?([0-9]+)`?[[:space:]]*\|.*/\1/p' | LC_ALL=C sort -u > "$WORK/readme.codes"
sed -n '/^Exit codes:/,$p' "$WORK/help.txt" |
  sed -nE 's/^[[:space:]]+([0-9]+)[[:space:]]+.*/\1/p' | LC_ALL=C sort -u > "$WORK/help.codes"
manpage_tags "EXIT STATUS" | sed -nE 's/^[[:space:]]*([0-9]+)[[:space:]]*$/\1/p' |
  LC_ALL=C sort -u > "$WORK/man.codes"
check "the README has an exit code table" test "$(wc -l < "$WORK/readme.codes")" -ge 10
check "EXIT STATUS has every code of the README's table, and no other" \
  manpage_same_set "exit codes" "README.md" "$WORK/readme.codes" "EXIT STATUS" "$WORK/man.codes"
check "EXIT STATUS has every code --help lists, and no other" \
  manpage_same_set "exit codes" "--help" "$WORK/help.codes" "EXIT STATUS" "$WORK/man.codes"

# Rendering.
if command -v groff >/dev/null 2>&1; then
  groff -man -Tutf8 -ww "$MAN" >"$WORK/man.out" 2>"$WORK/groff.err"
  check "groff renders the man page (exit 0)" test $? -eq 0
  check "groff -ww gives no warning" manpage_empty "$WORK/groff.err"
  # Bold and underline come as overstrikes or SGR sequences: strip them.
  sed -e 's/.\x08//g' -e 's/\x1b\[[0-9;]*m//g' "$WORK/man.out" > "$WORK/man.txt"
  check "the rendered page has every option, in ASCII hyphens" \
    manpage_all_rendered "$WORK/help.options" "$WORK/man.txt"
  check "the rendered page has no typographic hyphen (U+2010)" \
    test -z "$(grep -n $'\xe2\x80\x90' "$WORK/man.txt" | head -3)"
else
  echo "SKIP man page rendering (groff not installed: apt-get install groff)"
fi

if command -v man >/dev/null 2>&1; then
  MANWIDTH=80 man -P cat -l "$MAN" >"$WORK/man-l.out" 2>"$WORK/man-l.err"
  man_rc=$?
  if grep -q 'minimized' "$WORK/man-l.out" "$WORK/man-l.err"; then
    echo "SKIP man -l (this system's man is the minimized stub: unminimize)"
  else
    check "man -l shows the man page" test $man_rc -eq 0
    check "man -l output has its sections" \
      bash -c "sed 's/.\x08//g' '$WORK/man-l.out' | grep -q '^EXIT STATUS' &&
               sed 's/.\x08//g' '$WORK/man-l.out' | grep -q '^SYNOPSIS'"
  fi
else
  echo "SKIP man -l (man not installed)"
fi
