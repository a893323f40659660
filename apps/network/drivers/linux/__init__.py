from .driver import LinuxNetworkDriver

__all__ = ["LinuxNetworkDriver"]
