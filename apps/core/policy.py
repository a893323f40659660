"""API policy: oslo.policy's check-string language, rules defined in code, overridable in config.

Each app registers its rules once (usually from its AppConfig.ready or the module that
uses them)::

    register_rules({
        "admin_required": "role:admin",
        "identity:list_users": ("rule:admin_required or (role:reader and "
                                "domain_id:%(target.domain_id)s)", "List users.",
                                [{"method": "GET", "path": "/v3/users"}]),
    })
    authorize("identity:list_users", credentials, {"target": {"domain_id": did}})

``settings.MONOSTACK["policy"]`` (the [policy] config section) maps a rule name to a check
string that replaces the one in code, and may define new rules for ``rule:`` to use.

The language, as oslo.policy parses it: ``@`` (allow), ``!`` (deny), ``role:<name>``
(case-insensitive), ``rule:<name>``, ``<credential path>:<value or %(target path)s>``
(``project_id:%(target.project.id)s``, ``system_scope:all``, ``token.audit_id:...``),
``<python literal>:%(target path)s`` (``True:%(user.enabled)s``), combined with ``not``,
``and``, ``or`` (that precedence) and parentheses. An empty check string allows.

Check strings are parsed once and compiled to closures; ``authorize`` on a simple rule
costs about a microsecond, which the token-validation path needs.

Differences from oslo.policy, on purpose: a credential or target value that is None
never matches (oslo compares str(None) == "None", so a system-scoped token with no
project matched a target with no project); a rule that cannot be parsed fails closed,
as oslo does, but one registered in code is a programming error and raises at once.
"""
import ast
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core.signals import setting_changed

from apps.core import exceptions as exc

log = logging.getLogger(__name__)

# Keystone's wording; nova's is NOVA_MESSAGE, neutron's (oslo's) OSLO_MESSAGE.
KEYSTONE_MESSAGE = "You are not authorized to perform the requested action: %(action)s."
NOVA_MESSAGE = "Policy doesn't allow %(action)s to be performed."
OSLO_MESSAGE = "%(action)s is disallowed by policy"


class PolicyNotRegistered(LookupError):
    pass


class PolicySyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class RuleDefault:
    name: str
    check_str: str
    description: str = ""
    # Documentation of where the rule applies: [{"method": "GET", "path": "/v3/users"}].
    operations: tuple = field(default_factory=tuple)
    # If set, tokens of any other scope ("system", "domain", "project") are refused,
    # as oslo.policy does with enforce_scope.
    scope_types: tuple | None = None


_registry = {}        # name -> RuleDefault
_rule_fns = {}        # name -> compiled closure(creds, target) -> bool, effective rule
_check_fns = {}       # check string -> compiled closure


# --- registration ---------------------------------------------------------------------

def _as_default(name, spec):
    if isinstance(spec, RuleDefault):
        return spec
    if isinstance(spec, str):
        return RuleDefault(name, spec)
    if isinstance(spec, dict):
        spec = dict(spec)
        return RuleDefault(name, spec.pop("check_str"), spec.pop("description", ""),
                           tuple(spec.pop("operations", ())), _scopes(spec.pop("scope_types", None)),
                           **spec)
    check_str, *rest = spec
    description = rest[0] if len(rest) > 0 else ""
    operations = tuple(rest[1]) if len(rest) > 1 else ()
    scope_types = _scopes(rest[2]) if len(rest) > 2 else None
    return RuleDefault(name, check_str, description, operations, scope_types)


def _scopes(value):
    return None if value is None else tuple(value)


def register_rules(rules):
    """Add rules: a dict name -> check string | (check string, description[, operations
    [, scope_types]]) | {"check_str": ..., ...}, or an iterable of RuleDefault.

    Registering the same rule again with the same check string is harmless (module
    reloads); a different one is a clash between apps and raises ValueError.
    """
    items = rules.items() if isinstance(rules, dict) else ((r.name, r) for r in rules)
    for name, spec in items:
        default = _as_default(name, spec)
        _parse(default.check_str)  # a syntax error in code fails at import time
        old = _registry.get(name)
        if old is not None and old.check_str != default.check_str:
            raise ValueError(f"Policy rule {name} is already registered as {old.check_str!r}")
        _registry[name] = default
    reset_cache()


def registered_rules():
    """name -> RuleDefault, for documentation and a sample policy file."""
    return dict(_registry)


def _overrides():
    return (getattr(settings, "MONOSTACK", None) or {}).get("policy") or {}


def effective_check_str(name):
    """The check string in force for ``name``: the config's if set, else the code's."""
    overrides = _overrides()
    if name in overrides:
        return overrides[name]
    if name in _registry:
        return _registry[name].check_str
    raise PolicyNotRegistered(f"Policy {name} has not been registered")


def reset_cache():
    _rule_fns.clear()


def _on_setting_changed(setting=None, **kwargs):
    if setting == "MONOSTACK":
        reset_cache()


setting_changed.connect(_on_setting_changed)


# --- enforcement ----------------------------------------------------------------------

def _rule_fn(name):
    fn = _rule_fns.get(name)
    if fn is None:
        fn = _load_rule(name)
        _rule_fns[name] = fn
    return fn


def _load_rule(name):
    check_str = effective_check_str(name)
    try:
        fn = compile_check(check_str)
    except PolicySyntaxError:
        # Only an override can get here (code is checked at registration): fail closed.
        log.error("Policy rule %s has an invalid check string %r; denying", name, check_str)
        return _deny
    default = _registry.get(name)
    if default is not None and default.scope_types:
        fn = _scoped(fn, frozenset(default.scope_types))
    return fn


def token_scope(credentials):
    if credentials.get("system_scope"):
        return "system"
    if credentials.get("project_id"):
        return "project"
    if credentials.get("domain_id"):
        return "domain"
    return None


def _scoped(fn, scopes):
    def check(creds, target):
        return token_scope(creds) in scopes and fn(creds, target)
    return check


def authorize(rule, credentials, target=None, *, do_raise=True, message=None):
    """Whether ``credentials`` (a dict: user_id, project_id, domain_id, system_scope,
    roles, ...) may do ``rule`` on ``target`` (a dict; nested or flattened "a.b" keys).

    Raises Forbidden (Keystone's message unless ``message``, a "%(action)s" template, says
    otherwise) when refused and ``do_raise``; raises PolicyNotRegistered for an unknown
    rule, which is a programming error.
    """
    fn = _rule_fns.get(rule) or _rule_fn(rule)
    if fn(credentials, target if target is not None else {}):
        return True
    if do_raise:
        raise exc.Forbidden((message or KEYSTONE_MESSAGE) % {"action": rule})
    return False


def check(check_str, credentials, target=None):
    """Evaluate an ad-hoc check string (compiled once and cached)."""
    return compile_check(check_str)(credentials, target if target is not None else {})


def check_rules():
    """Problems with the rules in force (syntax, ``rule:`` naming nothing, cycles), as
    messages; [] when all is well. Meant for a startup check and a test."""
    names = set(_registry) | set(_overrides())
    problems, graph = [], {}
    for name in sorted(names):
        check_str = effective_check_str(name)
        try:
            tree = _parse(check_str)
        except PolicySyntaxError as e:
            problems.append(f"{name}: {e}")
            continue
        refs = _references(tree)
        graph[name] = refs
        for ref in sorted(refs - names):
            problems.append(f"{name}: rule:{ref} is not defined")
    state = {}

    def visit(node, stack):
        state[node] = "visiting"
        for ref in sorted(graph.get(node, ())):
            if state.get(ref) == "visiting":
                problems.append("cycle: " + " -> ".join(stack + [ref]))
            elif ref not in state:
                visit(ref, stack + [ref])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return problems


# --- parsing --------------------------------------------------------------------------
# Trees are tuples: ("true",), ("false",), ("check", kind, match), ("not", t),
# ("and", t1, t2, ...), ("or", t1, t2, ...).

_LPAREN, _RPAREN, _AND, _OR, _NOT = "(", ")", "and", "or", "not"


def _tokenize(check_str):
    # oslo's tokenizer: whitespace splits; parentheses are peeled off a token's ends only,
    # since "%(name)s" carries parentheses inside a check.
    for tok in check_str.split():
        clean = tok.lstrip("(")
        yield from [(_LPAREN, None)] * (len(tok) - len(clean))
        if not clean:
            continue
        tok = clean
        clean = tok.rstrip(")")
        trail = len(tok) - len(clean)
        if clean.lower() in (_AND, _OR, _NOT):
            yield clean.lower(), None
        elif clean:
            yield "check", clean
        yield from [(_RPAREN, None)] * trail


def _parse(check_str):
    if not check_str or not check_str.strip():
        return ("true",)
    tokens = list(_tokenize(check_str))
    pos = 0

    def peek():
        return tokens[pos][0] if pos < len(tokens) else None

    def take(kind):
        nonlocal pos
        if peek() != kind:
            found = tokens[pos][1] or tokens[pos][0] if pos < len(tokens) else "end of rule"
            raise PolicySyntaxError(f"expected {kind} but found {found!r} in {check_str!r}")
        pos += 1
        return tokens[pos - 1]

    def or_expr():
        terms = [and_expr()]
        while peek() == _OR:
            take(_OR)
            terms.append(and_expr())
        return terms[0] if len(terms) == 1 else ("or", *terms)

    def and_expr():
        terms = [not_expr()]
        while peek() == _AND:
            take(_AND)
            terms.append(not_expr())
        return terms[0] if len(terms) == 1 else ("and", *terms)

    def not_expr():
        if peek() == _NOT:
            take(_NOT)
            return ("not", not_expr())
        if peek() == _LPAREN:
            take(_LPAREN)
            inner = or_expr()
            take(_RPAREN)
            return inner
        return _leaf(take("check")[1])

    tree = or_expr()
    if pos != len(tokens):
        raise PolicySyntaxError(f"unexpected {tokens[pos][1] or tokens[pos][0]!r} in {check_str!r}")
    return tree


def _leaf(text):
    if text == "@":
        return ("true",)
    if text == "!":
        return ("false",)
    kind, sep, match = text.partition(":")
    if not sep:
        raise PolicySyntaxError(f"{text!r} is not a check (kind:match)")
    return ("check", kind, match)


def _references(tree):
    if tree[0] == "check":
        return {tree[2]} if tree[1] == "rule" else set()
    if tree[0] in ("not", "and", "or"):
        refs = set()
        for sub in tree[1:]:
            refs |= _references(sub)
        return refs
    return set()


# --- compiling ------------------------------------------------------------------------

def _allow(creds, target):
    return True


def _deny(creds, target):
    return False


_MISSING = object()
_TARGET_REF = re.compile(r"%\(([^)]+)\)s")


def compile_check(check_str):
    fn = _check_fns.get(check_str)
    if fn is None:
        fn = _compile(_parse(check_str))
        _check_fns[check_str] = fn
    return fn


def _compile(tree):
    op = tree[0]
    if op == "true":
        return _allow
    if op == "false":
        return _deny
    if op == "not":
        inner = _compile(tree[1])
        return lambda c, t: not inner(c, t)
    if op == "and":
        parts = tuple(_compile(sub) for sub in tree[1:])
        if len(parts) == 2:
            a, b = parts
            return lambda c, t: a(c, t) and b(c, t)
        return lambda c, t: all(p(c, t) for p in parts)
    if op == "or":
        parts = tuple(_compile(sub) for sub in tree[1:])
        if len(parts) == 2:
            a, b = parts
            return lambda c, t: a(c, t) or b(c, t)
        return lambda c, t: any(p(c, t) for p in parts)
    return _compile_check(tree[1], tree[2])


def _compile_check(kind, match):
    if kind == "rule":
        # Resolved at call time, so a config override of the referenced rule applies.
        def rule_check(creds, target):
            fn = _rule_fns.get(match)
            if fn is None:
                if not _known(match):
                    return False  # as oslo: a reference to no rule denies
                fn = _rule_fn(match)
            return fn(creds, target)
        return rule_check
    render = _renderer(match)
    if kind == "role":
        return _role_check(match, render)
    try:
        literal = ast.literal_eval(kind)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        literal = _MISSING
    if literal is not _MISSING:
        # "True:%(user.enabled)s", "'member':%(role.name)s": a constant against the target.
        expected = str(literal)
        if render is None:
            return _allow if match == expected else _deny
        return lambda c, t: render(t) == expected
    return _credential_check(kind.split("."), render, match)


def _known(name):
    return name in _registry or name in _overrides()


def _renderer(match):
    """None for a constant; else target -> the match with %(path)s filled in, or None when
    the target lacks a path (oslo: KeyError -> the check fails) or holds None there."""
    refs = _TARGET_REF.findall(match)
    if not refs:
        return None
    if _TARGET_REF.fullmatch(match):
        path = refs[0]

        def render_one(target):
            value = _target_value(target, path)
            return None if value is None or value is _MISSING else str(value)
        return render_one

    def render(target):
        values = {}
        for path in refs:
            value = _target_value(target, path)
            if value is None or value is _MISSING:
                return None
            values[path] = value
        return _TARGET_REF.sub(lambda m: str(values[m.group(1)]), match)
    return render


def _target_value(target, path):
    # Keystone flattens targets to "target.project.id" keys; callers may also pass nesting.
    value = target.get(path, _MISSING) if isinstance(target, dict) else _MISSING
    if value is not _MISSING:
        return value
    value = target
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _role_check(match, render):
    if render is None:
        wanted = match.lower()

        def has_role(creds, target):
            roles = creds.get("roles")
            if not roles:
                return False
            return wanted in roles or any(r.lower() == wanted for r in roles)
        return has_role

    def has_rendered_role(creds, target):
        wanted = render(target)
        roles = creds.get("roles")
        return bool(wanted and roles) and any(r.lower() == wanted.lower() for r in roles)
    return has_rendered_role


def _credential_check(path, render, match):
    if len(path) == 1:
        key = path[0]
        if render is None:
            def constant_check(creds, target):
                value = creds.get(key)
                return value is not None and (value == match or _str(value) == match)
            return constant_check

        def target_check(creds, target):
            value = creds.get(key)
            if value is None:
                return False
            wanted = render(target)
            return wanted is not None and _str(value) == wanted
        return target_check

    def path_check(creds, target):
        wanted = match if render is None else render(target)
        return wanted is not None and _find(creds, path, wanted)
    return path_check


def _str(value):
    return value if isinstance(value, str) else str(value)


def _find(value, path, wanted):
    """oslo's _find_in_dict: walk the path; a list on the way matches if any element does."""
    if not path:
        return value is not None and _str(value) == wanted
    if not isinstance(value, dict) or path[0] not in value:
        return False
    value = value[path[0]]
    if isinstance(value, list):
        return any(_find(v, path[1:], wanted) for v in value)
    return _find(value, path[1:], wanted)
