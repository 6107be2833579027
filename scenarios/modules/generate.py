# Generates the Python source fixtures for the pycstorm scenarios.
#
# Why: pycstorm stress-tests concurrent .pyc cache writes and needs realistic
# marshal streams.  Each fixture is a plausible library module (classes, docstrings,
# closures, comprehensions, dict/tuple/frozenset/float/complex/bytes constants), so
# marshal.dumps() of its code object uses many type codes and back-references.
# Three sizes (small ~1 KB, medium ~32 KB, large ~200 KB marshalled), each in two
# versions as during a package upgrade: v2 is the next release of v1, mostly the
# same code with some functions changed or added.  Deterministic: each unit is
# seeded by module name and index; no timestamps.
# Usage: python3 scenarios/modules/generate.py  -> writes <here>/<name>/v{1,2}.py
import marshal
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = {"small": 800, "medium": 29000, "large": 188000}  # v1 lower bounds
V2_GROWTH = 1.07  # v2 must marshal at least this much larger than v1

NOUNS = ("record token buffer segment header payload entry column schema cursor "
         "bucket span frame chunk window marker label batch field channel").split()
VERBS = ("parse normalize render split merge validate encode decode resolve "
         "collect scan pack measure filter expand").split()
SENTENCES = (
    "Split the input into {noun} parts and weigh each of them.",
    "Empty parts are dropped before anything else is done.",
    "The result is stable: equal input always gives equal output.",
    "Values outside the configured limits are clamped, not rejected.",
    "Nothing here touches the file system or any global state.",
    "Callers that need the raw {noun} should use the lower-level helpers.",
    "Leading and trailing whitespace is ignored.",
    "Keys are compared case-sensitively, as in earlier releases.",
    "The {noun} is looked up lazily and cached for later calls.",
    "Large inputs are processed in slices of at most *limit* items.",
    "See the module documentation for the meaning of the weights.",
    "Instances are cheap to create and safe to share between threads.")
ATTRS = "name size offset owner flags origin encoding mode created parent source count".split()


def prose(r, n, noun):
    return "\n    ".join(r.sample(SENTENCES, n)).format(noun=noun)


def t_constants(r, noun, rev):
    up = noun.upper()
    body = ",\n".join(f'    "{k}": ({r.randint(1, 999)}, {r.random():.6f}, "{r.choice(NOUNS)}")'
                      for k in r.sample(ATTRS, 6)) + (',\n    "since": (2, 0.5, "release")' if rev else "")
    return f'''

#: Default settings for {noun} handling.
{up}_DEFAULTS = {{
{body},
}}
{up}_MAGIC = {bytes(r.randrange(256) for _ in range(8))!r}
{up}_PHASE = {r.randint(1, 9)}.{r.randint(0, 99)} + {r.randint(1, 9)}.5j
{up}_LIMITS = ({r.randint(1, 64)}, {r.randint(2**32, 2**48)}, {r.random():.4f}, None, {"True" if rev else "False"})
{up}_ORDER = [{", ".join(repr(w) for w in r.sample(NOUNS, 5))}]
'''


def t_function(r, noun, rev):
    verb, other = r.choice(VERBS), r.choice(NOUNS)
    kinds = ", ".join(repr(w) for w in r.sample(NOUNS, 4))
    check = (f'''
    if strict and not items:
        raise ValueError("{verb}_{noun}: nothing to {verb} in %r" % (data,))''' if rev else "")
    note = "\n\n    .. versionchanged:: 2.0\n       Added the *strict* flag." if rev else ""
    return f'''

def {verb}_{noun}(data, sep="{r.choice(",;|:")}", *, limit={r.randint(4, 256)}, scale={r.random() * 10:.3f}{", strict=False" if rev else ""}):
    """{prose(r, 1, noun)}

    {prose(r, 2, noun)}
    Returns a tuple of ``({other}, weight)`` pairs.{note}
    """
    def weigh(part, _base={r.randint(1, 50)}):
        if part in {{{kinds}}}:
            return _base * scale
        return len(part) / (scale or 1.0)

    items = [p.strip() for p in str(data).split(sep) if p.strip()]{check}
    seen = {{}}
    for part in items[:limit]:
        seen[part] = seen.get(part, 0.0) + weigh(part)
    return tuple(sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])))
'''


def t_class(r, noun, rev):
    cls = noun.capitalize() + r.choice(("Info", "Spec", "View", "State", "Set"))
    attrs = r.sample(ATTRS, 3)
    sig = ", ".join(f"{a}={d!r}" for a, d in zip(attrs, (None, 0, "")))
    extra = f'''

    def to_dict(self, *, skip_empty=True):
        """Return the fields as a plain dict (new in 2.0)."""
        out = {{name: getattr(self, name) for name in self.__slots__}}
        if skip_empty:
            out = {{k: v for k, v in out.items() if v not in (None, "", 0)}}
        return out''' if rev else ""
    return f'''

class {cls}:
    """{prose(r, 1, noun)}

    {prose(r, 2, noun)}
    """

    __slots__ = {tuple(attrs)!r}
    KIND = "{noun}"
    WEIGHTS = {{{", ".join(f'"{w}": {r.random():.3f}' for w in r.sample(NOUNS, 3))}}}

    def __init__(self, {sig}):
{"".join(f"        self.{a} = {a}{chr(10)}" for a in attrs)}
    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%r" % (name, getattr(self, name)) for name in self.__slots__))

    def __eq__(self, other):
        if not isinstance(other, {cls}):
            return NotImplemented
        return self.astuple() == other.astuple()

    def astuple(self):
        return tuple(getattr(self, name) for name in self.__slots__)

    @property
    def weight(self):
        """{prose(r, 1, noun)}"""
        return sum(self.WEIGHTS.get(str(v), {r.random():.2f}) for v in self.astuple())

    @classmethod
    def from_dict(cls, mapping, *, strict=False):
        unknown = set(mapping) - set(cls.__slots__)
        if strict and unknown:
            raise KeyError("unknown fields: " + ", ".join(sorted(unknown)))
        return cls(**{{k: v for k, v in mapping.items() if k in cls.__slots__}})

    def iter_{r.choice(VERBS)}(self, depth={r.randint(1, 5)}):
        for level in range(depth):
            yield level, [x for x in self.astuple() if x is not None]{extra}
'''


def t_cached(r, noun, rev):
    verb = r.choice(VERBS)
    pattern = r.choice((r"([A-Za-z_][\w.]*)", r"\s*(\d+)\s*[:=]\s*(\S+)", r"(?P<key>\w+)=(?P<val>[^;]*)"))
    ext = r.choice((".txt", ".cfg", ".dat", ".idx"))
    fallback = '\n        return os.path.join(root, name + ".bak")' if rev else ""
    return f'''

@functools.lru_cache(maxsize={r.choice((32, 64, 128))})
def _{noun}_pattern(flags=0):
    return re.compile(r"{pattern}", flags)


def {verb}_{noun}_file(root, name, *, encoding="utf-8", errors="strict"):
    """{prose(r, 1, noun)}

    The file is looked up below *root*; ``{ext}`` is appended to *name*.
    """
    path = os.path.join(root, name + "{ext}")
    if not os.path.exists(path):{fallback}
        raise FileNotFoundError(path)
    with open(path, encoding=encoding, errors=errors) as fh:
        return [m.groups() for m in _{noun}_pattern().finditer(fh.read())]
'''


def t_helper(r, noun, rev):
    verb = r.choice(VERBS)
    check = (f'''
    if not parts:
        raise ValueError("empty {noun} key: %r" % (value,))''' if rev else "")
    note = "\n\n    .. versionchanged:: 2.0\n       Empty keys are rejected." if rev else ""
    return f'''

def {verb}_{noun}_key(value, *, prefix="{noun}", width={r.randint(3, 12)}):
    """{prose(r, 1, noun)}{note}"""
    parts = [p for p in re.split(r"[\\s_-]+", str(value)) if p]{check}
    return prefix + ":" + "-".join(p[:width] for p in parts)
'''


def t_error(r, noun, rev):
    base = noun.capitalize() + "Error"
    return f'''

class {base}(Exception):
    """{prose(r, 1, noun)}"""

    def __init__(self, message, *, code={r.randint(100, 999)}, detail=None):
        super().__init__(message)
        self.code = code
        self.detail = detail if detail is not None else {{}}


class {noun.capitalize()}{r.choice(("Missing", "Invalid", "Timeout"))}Error({base}):
    pass
'''


TEMPLATES = (t_function, t_class, t_constants, t_function, t_cached, t_class, t_error)
SMALL_TEMPLATES = (t_helper, t_constants)  # ~1 KB leaves room for little


def unit(name, i, rev):
    """Source of unit *i* of module *name*; the same for v1 and v2 unless rev."""
    r = random.Random(f"{name}:{i}")
    noun = NOUNS[i % len(NOUNS)] + (str(i // len(NOUNS)) if i >= len(NOUNS) else "")
    templates = SMALL_TEMPLATES if name == "small" else TEMPLATES
    return templates[i % len(templates)](r, noun, rev)


def render(name, version, units):
    head = (f"# Generated by generate.py: module {name!r}, version {version}. Do not edit.\n"
            f'"""{name.capitalize()} helpers ({version}): parsing, records and file access."""\n'
            f"import functools\nimport os\nimport re\n\n"
            f"__version__ = {('1.4.2' if version == 'v1' else '2.0.0')!r}\n")
    return head + "".join(units)


def msize(name, src):
    return len(marshal.dumps(compile(src, f"{name}.py", "exec")))


def build(name, target):
    n = 1
    while msize(name, render(name, "v1", [unit(name, i, False) for i in range(n)])) < target:
        n += 1
    v1 = render(name, "v1", [unit(name, i, False) for i in range(n)])
    # v2: units 0, 3, 6... revised; new units appended (>= 1 unless "small") until big enough.
    v2_units = [unit(name, i, i % 3 == 0) for i in range(n)]
    min_units, goal = n + (name != "small"), V2_GROWTH * msize(name, v1)
    while len(v2_units) < min_units or msize(name, render(name, "v2", v2_units)) < goal:
        v2_units.append(unit(name, len(v2_units), False))
    return v1, render(name, "v2", v2_units)


# "straight": start-up code run at import, one long module body, so that
# nearly all of its marshal stream is co_code. A sector of zeros almost
# anywhere in it still unmarshals, and the damage shows only when the code
# runs (the zero-block scenario; about half such files crash 3.11).
STRAIGHT_STATEMENTS = {"v1": 4000, "v2": 4300}


def straight(version):
    r = random.Random("straight")
    lines = [f"# Generated by generate.py: module 'straight', version {version}. Do not edit.",
             f'"""Settings table built at import, one statement at a time ({version})."""',
             "total = 0", "table = {}"]
    for i in range(STRAIGHT_STATEMENTS[version]):
        lines.append(f"total = (total * 31 + {r.randrange(1, 999)}) % 1000003")
        if i % 10 == 0:
            lines.append(f"table[{i}] = total")
    return "\n".join(lines) + "\n"


# "legacy": medium in the syntax 2.7 shares with Python 3 (no keyword-only
# marker, no functools.lru_cache), for runs under --python 2.7 and 3.6.
def legacy(src):
    src = src.replace("module 'medium'", "module 'legacy' (medium in 2.7 syntax)", 1)
    src = src.replace("*, ", "").replace("@functools.lru_cache(", "@_lru_cache(")
    return src.replace("import re\n", "import re\n_lru_cache = getattr(functools, \"lru_cache\", "
                       "lambda maxsize: lambda f: f)  # 2.7 has none\n", 1)


def main():
    print(f"{'name':<8} {'version':<8} {'source':>8} {'marshal':>8}")
    builds = [(name, build(name, target)) for name, target in TARGETS.items()]
    builds.append(("straight", (straight("v1"), straight("v2"))))
    builds.append(("legacy", tuple(legacy(src) for src in dict(builds)["medium"])))
    for name, sources in builds:
        os.makedirs(os.path.join(HERE, name), exist_ok=True)
        for version, src in zip(("v1", "v2"), sources):
            with open(os.path.join(HERE, name, version + ".py"), "w", newline="\n") as fh:
                fh.write(src)
            print(f"{name:<8} {version:<8} {len(src.encode()):>8} {msize(name, src):>8}")


if __name__ == "__main__":
    main()
