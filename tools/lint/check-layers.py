#!/usr/bin/env python3
"""Checks that #include directives only point down the layers of docs/architecture.md.

Layers, lowest first (a file may include its own layer and any layer below it):
  0 base       sdk/base/                 Status, Result, the arena: nothing below it
  1 platform   platform/                 file mapping, clock, CPU features, thread pool
  1 format     sdk/format/, sdk/schema/  the .kite byte layouts, names and checksums
  2 kernels    sdk/kernels/              kernel families and the dispatch table
  2 backends   sdk/backends/             XNNPACK, Vulkan
  3 runtime    sdk/runtime/              loader, tokenizer, forward pass, sessions
  4 c-api      sdk/include/kite/kite.h, sdk/runtime/c_api*.{h,cc}
  5 tools      tools/, samples/          host programs; samples may use tools/common/
  5 bindings   sdk/bindings/<language>/  language bindings: kite.h only, like an app
  - test/ may include anything.
platform and format are side by side: neither includes the other. kernels and backends are
side by side too. Tools never include each other's folders, nor samples' ones, except
tools/common/ (shared host helpers: flags, JSON); samples may also include each other
(samples/common/, and samples/chat/ whose conversation loop kite-generate --chat runs).

Usage: tools/lint/check-layers.py [ROOT]   (exit 1 and one line per violation)
       tools/lint/check-layers.py --self-test  (checks the checker on a planted tree)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE_EXT = ('.h', '.hpp', '.cc', '.cpp', '.c', '.inc')


def layer_of(path):
    """(rank, name) of a project path, or None for paths outside the layered tree."""
    if path.startswith('sdk/base/'):
        return (0, 'base')
    if path.startswith('platform/'):
        return (1, 'platform')
    if path.startswith('sdk/format/') or path.startswith('sdk/schema/'):
        return (1, 'format')
    if path.startswith('sdk/kernels/'):
        return (2, 'kernels')
    if path.startswith('sdk/backends/'):
        return (2, 'backends')
    if path.startswith('sdk/include/') or re.match(r'sdk/runtime/c_api[^/]*\.(cc|h)$', path):
        return (4, 'c-api')
    if path.startswith('sdk/runtime/'):
        return (3, 'runtime')
    if path.startswith('tools/') or path.startswith('samples/'):
        return (5, 'tools')
    if path.startswith('sdk/bindings/'):
        return (5, 'bindings')
    return None


def resolve(include, source_dir):
    """The project path an include names ("kite/kite.h" is the public header)."""
    if include.startswith('kite/'):
        return 'sdk/include/' + include
    for prefix in ('sdk/', 'platform/', 'tools/', 'samples/', 'test/'):
        if include.startswith(prefix):
            return include
    # Relative to the including file (e.g. generated or local headers).
    return os.path.normpath(os.path.join(source_dir, include))


def allowed(src, dst, src_layer, dst_layer):
    if src_layer[1] == 'bindings' and dst_layer is not None:
        # A binding is a client of the public header: nothing else of Kite but its own files.
        binding = lambda p: '/'.join(p.split('/')[:3])
        return dst.startswith('sdk/include/') or binding(src) == binding(dst)
    if dst_layer is None:
        return True
    if src_layer[1] == 'tools':
        if dst_layer[1] != 'tools':
            return True
        top = lambda p: p.split('/')[0] + '/' + p.split('/')[1]
        samples = src.startswith('samples/') and dst.startswith('samples/')
        return samples or top(src) == top(dst) or dst.startswith('tools/common/')
    if dst_layer[0] > src_layer[0]:
        return False
    if dst_layer[0] == src_layer[0] and dst_layer[1] != src_layer[1]:
        return False
    return True


def self_test():
    """Plants one include of each kind in a temporary tree; the checker must flag exactly
    the upward and sideways ones."""
    import subprocess
    import tempfile
    cases = {
        'platform/a.h': ('sdk/base/status.h', True),
        'sdk/kernels/a.h': ('sdk/format/layouts.h', True),
        'sdk/runtime/a.h': ('sdk/kernels/dispatch.h', True),
        'sdk/runtime/c_api.cc': ('kite/kite.h', True),
        'samples/x/a.cc': ('tools/common/flags.h', True),
        'sdk/base/a.h': ('platform/file_map.h', False),
        'platform/b.h': ('sdk/runtime/loader/model.h', False),
        'sdk/format/a.h': ('platform/clock.h', False),
        'sdk/kernels/b.h': ('sdk/backends/xnnpack/dense_linear.h', False),
        'sdk/runtime/b.h': ('kite/kite.h', False),
        'samples/x/b.cc': ('tools/bench/roofline.h', False),
        'sdk/bindings/j/a.cc': ('kite/kite.h', True),
        'sdk/bindings/j/b.cc': ('sdk/bindings/j/local.h', True),
        'sdk/bindings/j/c.cc': ('sdk/runtime/session.h', False),
        'sdk/bindings/j/d.cc': ('sdk/base/status.h', False),
        'sdk/bindings/j/e.cc': ('sdk/bindings/k/other.h', False),
        'sdk/bindings/j/f.cc': ('sdk/runtime/c_api_mirror.h', False),
        'samples/x/c.cc': ('samples/y/y.h', True),
        'tools/x/d.cc': ('samples/y/y.h', False),
    }
    with tempfile.TemporaryDirectory() as root:
        for path, (include, _) in cases.items():
            os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(root, path), 'w') as f:
                f.write('#include "%s"\n' % include)
        out = subprocess.run([sys.executable, __file__, root], capture_output=True, text=True)
    flagged = {m.group(1) for m in re.finditer(r'^([^:\s]+):\d+: ', out.stdout, re.M)}
    expected = {path for path, (_, ok) in cases.items() if not ok}
    if flagged != expected or out.returncode != 1:
        print('check-layers self-test failed: flagged %s, expected %s' % (sorted(flagged), sorted(expected)))
        return 1
    print('check-layers self-test: %d planted includes judged right' % len(cases))
    return 0


def main():
    if sys.argv[1:] == ['--self-test']:
        return self_test()
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), '..', '..'))
    bad = []
    checked = 0
    for top in ('sdk', 'platform', 'tools', 'samples'):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(SOURCE_EXT):
                    continue
                full = os.path.join(dirpath, name)
                src = os.path.relpath(full, root)
                src_layer = layer_of(src)
                if src_layer is None:
                    continue
                with open(full, encoding='utf-8', errors='replace') as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        checked += 1
                        dst = resolve(m.group(1), os.path.dirname(src))
                        dst_layer = layer_of(dst)
                        if not allowed(src, dst, src_layer, dst_layer):
                            bad.append('%s:%d: %s (%s) includes %s (%s)' % (
                                src, lineno, src_layer[1], src, m.group(1), dst_layer[1]))
    for line in bad:
        print(line)
    print('check-layers: %d includes checked, %d point up or sideways' % (checked, len(bad)))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
