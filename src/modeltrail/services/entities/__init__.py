"""Each entity's create, read, update, delete and list: one module per entity of the registry
(``domain.entities``), named after it, with functions named ``create_<name>``,
``read_<name>``, ``update_<name>``, ``delete_<name>`` and ``list_<plural>`` (found by those
names, see ``services.metadata.ENTITIES``)."""
