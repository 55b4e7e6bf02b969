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
        builtin = sorted(k for k, cls in registry.items() if cls.__module__.startswith("neuralnet."))
        custom = sorted(set(registry) - set(builtin))
        also = f" (registered here: {', '.join(custom)})" if custom else ""
        raise ValueError(
            f"Unknown {kind} {identifier!r}; expected one of: {', '.join(builtin)}{also}. "
            f"If {identifier!r} is a custom {base.__name__}, register its class in this process "
            "with @neuralnet.register."
        )
    return registry[key](**kwargs)


def register(cls: type) -> type:
    """Register a subclass of ``Layer``, ``Activation`` or ``Loss`` under its ``name``; return it.

    Use it as a class decorator. After it, the name works wherever a built-in name does
    (``FullyConnectedLayer(4, 2, activation="my_act")``, ``NeuralNet(..., loss="my_loss")``) and
    a model file that names the class loads in any process that registered it: the file holds
    the name and the constructor's arguments (``get_config()``), never code.

        @neuralnet.register
        class Swish2(neuralnet.activations.Activation):
            name = "swish2"
            ...
    """
    from neuralnet import activations, layers, losses

    kinds = ((layers.Layer, layers.LAYER_CLASSES, "Layer"),
             (activations.Activation, activations.ACTIVATIONS, "Activation"),
             (losses.Loss, losses.LOSSES, "Loss"))
    match = next((k for k in kinds if isinstance(cls, type) and issubclass(cls, k[0])
                  and cls is not k[0]), None)
    if match is None:
        raise TypeError(
            "register expects a subclass of neuralnet.layers.Layer, neuralnet.activations."
            f"Activation or neuralnet.losses.Loss; received {cls!r}"
            + ("" if isinstance(cls, type) else f" of type {type(cls).__name__}") + "."
        )
    base, registry, kind = match
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name or name == getattr(base, "name", None):
        raise ValueError(
            f"A registered {kind} needs a class attribute `name`, a non-empty string of its own; "
            f"received name={name!r} on {cls.__name__}."
        )
    key = name if kind == "Layer" else name.lower()
    current = registry.get(key)
    if current is not None and current is not cls and current.__module__.startswith("neuralnet."):
        raise ValueError(
            f"The {kind} name {name!r} belongs to the built-in {current.__name__}; give "
            f"{cls.__name__} another name."
        )
    registry[key] = cls
    return cls
