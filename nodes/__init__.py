"""graphengine's own node library; the registry imports every module in it."""
