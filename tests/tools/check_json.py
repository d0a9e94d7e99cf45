#!/usr/bin/env python3
"""Checks treesync's --json output against docs/json-schema.json.

    check_json.py [--docs JSON.md] [--one-run] [--allow-unknown] SCHEMA [FILE...]

Every non-empty line of each FILE must be one JSON object of a kind the
schema names, with its members in the schema's order and of the schema's
types (docs/JSON.md says what the kinds and members are). Prints
"FILE:LINE: problem" for each bad line, then "N JSON lines valid" when all
are, and exits 0; exits 1 if any line (or the docs check) is bad, 2 on a
usage error or a schema that can't be read.

--docs JSON.md: also checks that JSON.md documents every kind and member
    of the schema: a heading naming the kind in backquotes, and in that
    section a table row per member, in the schema's order, with its type.
    Also checks that JSON.md states the schema's version, and that its
    examples (indented lines of JSON) are valid. With no FILE only this
    check is done.
--one-run: each FILE is the whole stdout of one treesync run, so the order
    of its lines is checked too: a summary without "round" is the only
    summary and the last line; a --watch run's summaries all have "round";
    a --version --json run prints its object and nothing else.
--allow-unknown: read as a version-1 reader does, ignoring members and
    event kinds the schema does not name. Without it they are problems:
    the output has something docs/JSON.md does not document.

Python 3 standard library only.
"""

import argparse
import json
import re
import sys

INT_RANGES = {
    "u64": (0, 2**64 - 1),
    "i64": (-(2**63), 2**63 - 1),
    "u32": (0, 2**32 - 1),
}


class SchemaError(Exception):
    pass


class Float(float):
    """A number written with a fraction or an exponent: never an integer here."""


def load_schema(path):
    try:
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
    except (OSError, ValueError) as e:
        raise SchemaError("%s: %s" % (path, e))
    kinds = schema.get("kinds")
    if not isinstance(kinds, list) or not kinds:
        raise SchemaError("%s: no \"kinds\" list" % path)
    types = schema.get("types", {})
    seen = set()
    for k in kinds:
        name = k.get("kind")
        members = k.get("members")
        if not isinstance(name, str) or not isinstance(members, list) or not members:
            raise SchemaError("%s: a kind needs a \"kind\" name and \"members\": %r" % (path, k))
        if name in seen:
            raise SchemaError("%s: kind %r twice" % (path, name))
        seen.add(name)
        if "const" not in members[0] or members[0].get("optional"):
            raise SchemaError("%s: kind %r: its first member needs a const value" % (path, name))
        names = [m.get("name") for m in members]
        if len(set(names)) != len(names):
            raise SchemaError("%s: kind %r names a member twice" % (path, name))
        for m in members:
            if m.get("type") not in types:
                raise SchemaError("%s: kind %r member %r: unknown type %r"
                                  % (path, name, m.get("name"), m.get("type")))
    return schema


def type_ok(value, type_name):
    if type_name == "string":
        return isinstance(value, str)
    if type_name in INT_RANGES:
        lo, hi = INT_RANGES[type_name]
        return (isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi)
    raise SchemaError("unknown type %r" % type_name)


def show(value):
    s = json.dumps(value, ensure_ascii=False)
    return s if len(s) <= 60 else s[:57] + "..."


def check_member(m, value):
    """The problems of one member's value, as a list of strings."""
    name, t = m["name"], m["type"]
    if not type_ok(value, t):
        return ["\"%s\" is %s, not a %s" % (name, show(value), t)]
    problems = []
    if "const" in m and value != m["const"]:
        problems.append("\"%s\" is %s, not %s" % (name, show(value), show(m["const"])))
    if "enum" in m and value not in m["enum"]:
        problems.append("\"%s\" is %s, not one of %s"
                        % (name, show(value), ", ".join(show(v) for v in m["enum"])))
    if "min" in m and value < m["min"]:
        problems.append("\"%s\" is %s, below %s" % (name, show(value), m["min"]))
    if isinstance(value, str) and re.search("[\ud800-\udfff]", value):
        problems.append("\"%s\" has a lone surrogate escape (not UTF-8 text)" % name)
    return problems


def check_object(obj, schema, allow_unknown):
    """(kind or None, problems) for one parsed line: a list of (key, value) pairs."""
    keys = [k for k, _ in obj]
    dups = sorted({k for k in keys if keys.count(k) > 1})
    if dups:
        return None, ["member %s more than once" % ", ".join('"%s"' % k for k in dups)]
    values = dict(obj)
    if not obj:
        return None, ["an empty object"]
    kind = None
    for k in schema["kinds"]:
        first = k["members"][0]
        if first["name"] in values and values[first["name"]] == first["const"]:
            kind = k
            break
    if kind is None:
        if "event" in values:
            if allow_unknown and isinstance(values["event"], str):
                return None, []  # a later version's event kind: a reader skips it
            return None, ["unknown event kind %s" % show(values["event"])]
        return None, ["not a kind the schema names (first member %s)" % show(keys[0])]
    problems = []
    members = kind["members"]
    index = {m["name"]: i for i, m in enumerate(members)}
    last = -1
    for k in keys:
        if k not in index:
            if not allow_unknown:
                problems.append("member \"%s\" is not in the schema's %s" % (k, kind["kind"]))
            continue
        if index[k] < last:
            problems.append("member \"%s\" out of order (the schema has it before \"%s\")"
                            % (k, members[last]["name"]))
        last = max(last, index[k])
    for m in members:
        if m["name"] not in values:
            if not m.get("optional"):
                problems.append("member \"%s\" missing" % m["name"])
            continue
        problems.extend(check_member(m, values[m["name"]]))
    codes = schema.get("type_codes")
    code, typ = values.get("code"), values.get("type")
    if codes and isinstance(code, str) and isinstance(typ, str) and len(code) == 2:
        if codes.get(code[1]) != typ:
            problems.append("\"code\" %s does not go with \"type\" %s" % (show(code), show(typ)))
    return kind, problems


def parse_line(raw):
    """(pairs, problem): the line's members in order, or why it is not an object."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, "not UTF-8 (byte %d)" % e.start
    if not text.startswith("{"):
        return None, "not a JSON object: %s" % show(text)

    def no_constant(name):
        raise ValueError("%s is not JSON" % name)

    try:
        pairs = json.loads(text, object_pairs_hook=lambda p: p, parse_float=Float,
                           parse_constant=no_constant)
    except ValueError as e:
        return None, "not JSON: %s" % e
    if not isinstance(pairs, list):
        return None, "not a JSON object"
    # A nested object (a list of pairs here), an array or a Float fails its
    # member's type check.
    return pairs, None


def check_file(path, schema, args, report):
    """Number of non-empty lines; problems go to report(path, line, text)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        report(path, 0, str(e))
        return 0
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last line end: b"" when the file ends in one
    if tail:
        lines.append(tail)
    count = 0
    seen = []  # (line number, kind name, has round) of each line of a known kind
    for n, raw in enumerate(lines, 1):
        if raw.endswith(b"\r"):  # a Windows binary's text-mode stdout: CR LF
            raw = raw[:-1]
        if n == len(lines) and tail:
            report(path, n, "no line end after the last line (cut off?)")
        if not raw:
            continue
        count += 1
        if not raw.strip():
            report(path, n, "a line of only white space")
            continue
        pairs, problem = parse_line(raw)
        if problem:
            report(path, n, problem)
            continue
        kind, problems = check_object(pairs, schema, args.allow_unknown)
        for p in problems:
            report(path, n, p)
        if kind is not None:
            seen.append((n, kind["kind"], "round" in dict(pairs)))
    if args.one_run:
        check_run(path, seen, len(lines), report)
    return count


def check_run(path, seen, line_count, report):
    """The order of one run's lines (--one-run)."""
    summaries = [(n, r) for n, k, r in seen if k == "summary"]
    plain = [n for n, r in summaries if not r]
    rounds = [n for n, r in summaries if r]
    if plain and rounds:
        report(path, plain[0], "a summary without \"round\" in a --watch run's output")
    elif len(plain) > 1:
        report(path, plain[1], "a second summary (one run prints one, or one a round with --watch)")
    elif plain and plain[0] != line_count:
        report(path, plain[0], "the summary is not the last line")
    versions = [n for n, k, _ in seen if k == "version"]
    if versions and line_count != 1:
        report(path, versions[0], "--version --json prints one line, and this output has %d"
               % line_count)


def section_of(lines, kind):
    """The lines of JSON.md's section whose heading names `kind`, or None."""
    start = level = None
    for i, line in enumerate(lines):
        m = re.match(r"(#+)\s", line)
        if not m:
            continue
        if start is not None and len(m.group(1)) <= level:
            return lines[start:i]
        if start is None and "`%s`" % kind in line:
            start, level = i, len(m.group(1))
    return None if start is None else lines[start:]


def check_docs(doc_path, schema):
    """Problems with JSON.md against the schema, as a list of strings."""
    try:
        with open(doc_path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        return ["%s: %s" % (doc_path, e)]
    lines = text.splitlines()
    problems = []
    m = re.search(r"schema version:?\s*\**\s*(\d+)", text, re.IGNORECASE)
    if not m:
        problems.append("%s: no \"Schema version: N\" line" % doc_path)
    elif int(m.group(1)) != schema.get("json_schema"):
        problems.append("%s: schema version %s, but %s in the schema"
                        % (doc_path, m.group(1), schema.get("json_schema")))
    # The examples (indented lines of JSON) must be valid too; a template
    # such as the --version line, with <placeholders>, is not JSON and is
    # left alone.
    for n, line in enumerate(lines, 1):
        if not line.startswith("    {"):
            continue
        try:
            json.loads(line)
        except ValueError:
            continue
        pairs, problem = parse_line(line.strip().encode("utf-8"))
        found = [problem] if problem else check_object(pairs, schema, False)[1]
        problems.extend("%s:%d: an example: %s" % (doc_path, n, p) for p in found)
    for k in schema["kinds"]:
        section = section_of(lines, k["kind"])
        if section is None:
            problems.append("%s: no heading names the kind `%s`" % (doc_path, k["kind"]))
            continue
        rows = []  # (member name, type cell) of the section's "| member | type |" tables
        header = None
        for line in section:
            if not line.lstrip().startswith("|"):
                header = None
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if header is None:
                header = cells
                continue
            name = re.fullmatch(r"`([^`]*)`", cells[0])
            if header[:2] == ["member", "type"] and name and len(cells) >= 2:
                rows.append((name.group(1), cells[1]))
        documented = [n for n, _ in rows]
        known = {mem["name"] for mem in k["members"]}
        for n in documented:
            if n not in known:
                problems.append("%s: the section of `%s` documents `%s`, which the schema does "
                                "not have" % (doc_path, k["kind"], n))
        for mem in k["members"]:
            if mem["name"] not in documented:
                problems.append("%s: the section of `%s` has no table row for `%s`"
                                % (doc_path, k["kind"], mem["name"]))
                continue
            cell = dict(rows)[mem["name"]]
            if not cell.split() or cell.split()[0].strip("*`,") != mem["type"]:
                problems.append("%s: `%s` member `%s`: the table says %r, the schema %s"
                                % (doc_path, k["kind"], mem["name"], cell, mem["type"]))
            if mem.get("optional") and "optional" not in cell:
                problems.append("%s: `%s` member `%s` is optional, and the table does not say so"
                                % (doc_path, k["kind"], mem["name"]))
            body = "\n".join(section)
            for v in mem.get("enum", []) + ([mem["const"]] if "const" in mem else []):
                if "`%s`" % v not in body and "`%s`" % json.dumps(v) not in body:
                    problems.append("%s: the section of `%s` does not name %s's value `%s`"
                                    % (doc_path, k["kind"], mem["name"], v))
        order = [n for n in documented if n in {mem["name"] for mem in k["members"]}]
        want = [mem["name"] for mem in k["members"] if mem["name"] in order]
        if order != want:
            problems.append("%s: the section of `%s` has its members in the order %s, the schema %s"
                            % (doc_path, k["kind"], ", ".join(order), ", ".join(want)))
    return problems


def main(argv):
    ap = argparse.ArgumentParser(
        description="Checks treesync --json output against docs/json-schema.json.")
    ap.add_argument("schema", help="docs/json-schema.json")
    ap.add_argument("files", nargs="*", metavar="FILE", help="treesync --json output")
    ap.add_argument("--docs", metavar="JSON.md", help="also check that JSON.md documents the schema")
    ap.add_argument("--one-run", action="store_true",
                    help="each FILE is one run's stdout: check the order of its lines too")
    ap.add_argument("--allow-unknown", action="store_true",
                    help="ignore members the schema does not name (as a reader does)")
    args = ap.parse_args(argv)
    if not args.files and not args.docs:
        ap.error("give a FILE, or --docs")
    try:
        schema = load_schema(args.schema)
    except SchemaError as e:
        print("check_json.py: %s" % e, file=sys.stderr)
        return 2
    doc_problems = check_docs(args.docs, schema) if args.docs else []
    for p in doc_problems:
        print(p)
    bad_lines = set()

    def report(path, line, problem):
        bad_lines.add((path, line))
        print("%s:%d: %s" % (path, line, problem))

    total = sum(check_file(path, schema, args, report) for path in args.files)
    valid = total - len([1 for _, n in bad_lines if n > 0])
    if doc_problems or bad_lines:
        if args.files:
            print("%d JSON lines valid, %d not (in %d files)"
                  % (valid, len(bad_lines), len({p for p, _ in bad_lines})))
        return 1
    if args.files:
        print("%d JSON lines valid" % valid)
    else:
        print("%s documents every kind and member of %s" % (args.docs, args.schema))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
