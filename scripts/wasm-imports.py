#!/usr/bin/env python3
"""wasm-imports.py MODULE.wasm [--deny MODULE]... — list a wasm module's imports as
`module.name`, one per line; exit 1 if any comes from a denied module.

pike-wasm must import nothing from `env`: such imports are C code or unresolved
symbols that no browser provides (WebAssembly spec, binary format: section 2).
"""
import sys


def leb(buf, i):
    out = shift = 0
    while True:
        b = buf[i]
        i += 1
        out |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return out, i


def name(buf, i):
    n, i = leb(buf, i)
    return buf[i:i + n].decode("utf-8"), i + n


def imports(buf):
    if buf[:8] != b"\0asm\x01\0\0\0":
        raise SystemExit("not a wasm module (version 1)")
    i = 8
    while i < len(buf):
        sid, i = buf[i], i + 1
        size, i = leb(buf, i)
        end = i + size
        if sid == 2:
            count, i = leb(buf, i)
            for _ in range(count):
                mod, i = name(buf, i)
                field, i = name(buf, i)
                kind, i = buf[i], i + 1
                yield mod, field
                # skip the import's type: func index, table, memory or global
                if kind == 0:
                    _, i = leb(buf, i)
                elif kind == 1:
                    i += 1
                    flags, i = leb(buf, i)
                    _, i = leb(buf, i)
                    if flags & 1:
                        _, i = leb(buf, i)
                elif kind == 2:
                    flags, i = leb(buf, i)
                    _, i = leb(buf, i)
                    if flags & 1:
                        _, i = leb(buf, i)
                elif kind == 3:
                    i += 2
                elif kind == 4:  # tag (exception handling)
                    i += 1
                    _, i = leb(buf, i)
                else:
                    raise SystemExit(f"unknown import kind {kind}")
        i = end


def self_test():
    """The checker itself: a module importing env.f must be caught."""
    typ = b"\x01\x04\x01\x60\x00\x00"  # type section: one func type () -> ()
    imp = b"\x02\x09\x01\x03env\x01f\x00\x00"  # import env.f as func of type 0
    found = list(imports(b"\0asm\x01\0\0\0" + typ + imp))
    assert found == [("env", "f")], found
    print("wasm-imports self-test ok")


def main():
    args = sys.argv[1:]
    if args == ["--self-test"]:
        return self_test()
    if not args:
        raise SystemExit(__doc__)
    path, deny = args[0], set()
    rest = args[1:]
    while rest:
        if rest[0] == "--deny" and len(rest) > 1:
            deny.add(rest[1])
            rest = rest[2:]
        else:
            raise SystemExit(__doc__)
    with open(path, "rb") as f:
        buf = f.read()
    bad = 0
    for mod, field in imports(buf):
        print(f"{mod}.{field}")
        if mod in deny:
            bad += 1
    if bad:
        print(f"{path}: {bad} import(s) from denied module(s) {sorted(deny)}", file=sys.stderr)
        sys.exit(1)


main()
