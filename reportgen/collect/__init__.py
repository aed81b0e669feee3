"""Collection: a tenant's data from Microsoft Graph (``graph``) or a deterministic demo tenant
(``demo``), written as raw evidence on disk. Submodules are imported where used, so that a demo
run never loads the HTTP stack."""
