"""The libvirt compute driver, in Nova's layers: config objects (XML), Host (connection),
Guest (one domain), the image cache, disk and config-drive builders, and the driver."""
