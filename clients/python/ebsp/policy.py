"""Textual policies ("bsp", "ebsp:R=8", ...) to and from the wire's Policy.

Mirrors the coordinator's ParsePolicy (lib/core/policy/policy_config.h)
so the same strings work in flags of the C++ tools and of Python scripts:
  "bsp" | "asp" | "ssp:s=3" | "local:H=4" |
  "ebsp:R=15[,objective=idle_rate|spread|total_wait][,predictor=latest|ewma|median]" |
  "dssp:s=3,r=12[,predictor=latest|ewma|median]"   (r is DSSP's r_max)
"""

from typing import Dict, Union

from ebsp._stubs import pb

MAX_LOOKAHEAD = 4096
MAX_STALENESS_RANGE = 4096

_KINDS = {
    "bsp": pb.POLICY_KIND_BSP,
    "asp": pb.POLICY_KIND_ASP,
    "ssp": pb.POLICY_KIND_SSP,
    "ebsp": pb.POLICY_KIND_ELASTIC_BSP,
    "local": pb.POLICY_KIND_LOCAL_STEPS,
    "dssp": pb.POLICY_KIND_DSSP,
}
_OBJECTIVES = {"spread": pb.OBJECTIVE_SPREAD, "total_wait": pb.OBJECTIVE_TOTAL_WAIT,
               "idle_rate": pb.OBJECTIVE_IDLE_RATE}
_PREDICTORS = {
    "latest": pb.PREDICTOR_KIND_LATEST_INTERVAL,
    "ewma": pb.PREDICTOR_KIND_EWMA,
    "median": pb.PREDICTOR_KIND_WINDOWED_MEDIAN,
}
# Which key=value parameters each kind accepts.
_ALLOWED = {
    "bsp": set(),
    "asp": set(),
    "ssp": {"s"},
    "local": {"H"},
    "ebsp": {"R", "objective", "predictor"},
    "dssp": {"s", "r", "predictor"},
}


def _parse_int(text: str, key: str, low: int, high: int, whole: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"policy '{whole}': {key}={text!r} is not an integer") from None
    if not low <= value <= high:
        raise ValueError(f"policy '{whole}': {key}={value} is out of range [{low}, {high}]")
    return value


def parse_policy(text: str) -> "pb.Policy":
    """Parses ``text`` into a Policy message; ValueError names what was wrong."""
    whole = text
    name, _, rest = text.strip().partition(":")
    if name not in _KINDS:
        raise ValueError(f"policy '{whole}': unknown kind {name!r}, expected one of "
                         f"{', '.join(sorted(_KINDS))}")
    params: Dict[str, str] = {}
    if rest:
        for item in rest.split(","):
            key, sep, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key or not value:
                raise ValueError(f"policy '{whole}': expected key=value, got {item!r}")
            if key not in _ALLOWED[name]:
                raise ValueError(f"policy '{whole}': {name} takes no parameter {key!r}")
            if key in params:
                raise ValueError(f"policy '{whole}': parameter {key!r} given twice")
            params[key] = value
    policy = pb.Policy(kind=_KINDS[name])
    if "R" in params:
        policy.lookahead = _parse_int(params["R"], "R", 1, MAX_LOOKAHEAD, whole)
    if "s" in params:
        policy.staleness = _parse_int(params["s"], "s", 0, 2**31 - 1, whole)
    if "r" in params:
        policy.staleness_range = _parse_int(params["r"], "r", 1, MAX_STALENESS_RANGE, whole)
        if policy.staleness + policy.staleness_range > 2**31 - 1:
            raise ValueError(f"policy '{whole}': s={policy.staleness} plus r="
                             f"{policy.staleness_range} overflows an int")
    if "H" in params:
        policy.local_steps = _parse_int(params["H"], "H", 1, 2**31 - 1, whole)
    if "objective" in params:
        if params["objective"] not in _OBJECTIVES:
            raise ValueError(f"policy '{whole}': unknown objective {params['objective']!r}")
        policy.objective = _OBJECTIVES[params["objective"]]
    if "predictor" in params:
        if params["predictor"] not in _PREDICTORS:
            raise ValueError(f"policy '{whole}': unknown predictor {params['predictor']!r}")
        policy.predictor = _PREDICTORS[params["predictor"]]
    return policy


def format_policy(policy: "pb.Policy") -> str:
    """The textual form of ``policy`` (parameters left at 0 are omitted)."""
    names = {v: k for k, v in _KINDS.items()}
    if policy.kind not in names:
        return "default"
    name = names[policy.kind]
    parts = []
    if name == "ebsp":
        if policy.lookahead:
            parts.append(f"R={policy.lookahead}")
        objective = {v: k for k, v in _OBJECTIVES.items()}.get(policy.objective)
        if objective:
            parts.append(f"objective={objective}")
        predictor = {v: k for k, v in _PREDICTORS.items()}.get(policy.predictor)
        if predictor:
            parts.append(f"predictor={predictor}")
    elif name == "ssp":
        parts.append(f"s={policy.staleness}")
    elif name == "dssp":
        parts.append(f"s={policy.staleness}")
        if policy.staleness_range:
            parts.append(f"r={policy.staleness_range}")
        predictor = {v: k for k, v in _PREDICTORS.items()}.get(policy.predictor)
        if predictor:
            parts.append(f"predictor={predictor}")
    elif name == "local" and policy.local_steps:
        parts.append(f"H={policy.local_steps}")
    return name + (":" + ",".join(parts) if parts else "")


PolicyLike = Union[str, "pb.Policy", None]


def to_policy(policy: PolicyLike) -> "pb.Policy":
    """Accepts a textual policy, a Policy message, or None (server default)."""
    if policy is None:
        return pb.Policy()
    if isinstance(policy, str):
        return parse_policy(policy)
    if isinstance(policy, pb.Policy):
        return policy
    raise TypeError(f"policy must be a str, an elasticbsp.v1.Policy or None, got {type(policy).__name__}")
