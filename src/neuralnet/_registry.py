"""Look-up by name, shared by activations, losses and optimizers (Keras's ``get(identifier)``)."""

from __future__ import annotations


def lookup(identifier, *, kind: str, base: type, registry: dict, aliases: dict | None = None,
           **kwargs):
    """Return an instance of ``base`` from a name, a config dict ``{"name": ..., **args}``, or itself.

    ``kind`` names the argument in errors (``activation``, ``loss``, ...); ``kwargs`` go to the
    constructor when building by name.
    """
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, dict):
        config = dict(identifier)
        return lookup(config.pop("name", None), kind=kind, base=base, registry=registry,
                      aliases=aliases, **config, **kwargs)
    if not isinstance(identifier, str):
        article = "an" if base.__name__[0] in "AEIOU" else "a"
        raise TypeError(
            f"Received an invalid type for `{kind}`, expected a name (str) or {article} "
            f"{base.__name__}. Received: {kind}={identifier!r} of type {type(identifier).__name__}"
        )
    key = identifier.lower()
    key = (aliases or {}).get(key, key)
    if key not in registry:
        raise ValueError(
            f"Unknown {kind} {identifier!r}; expected one of: {', '.join(sorted(registry))}."
        )
    return registry[key](**kwargs)
