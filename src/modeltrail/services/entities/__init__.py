"""Each entity's create, read, update, delete and list: one module per entity of the registry
(``domain.entities``), named after it, with functions named ``create_<name>`` and
``delete_<name>``, and a ``SERVICE`` (``crud.Service``) whose read, update and list are the
same for every entity but for what the entity declares of its own (found by those names, see
``services.metadata.ENTITIES``)."""
