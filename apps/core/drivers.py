"""Loading the backend an operator chose in the config (Nova's load_compute_driver)."""
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class DriverLoadError(ImproperlyConfigured):
    pass


def load_driver(dotted_path, base_class, *args, **kwargs):
    """Import ``dotted_path``, check it implements ``base_class`` and return an instance."""
    try:
        cls = import_string(dotted_path)
    except ImportError as exc:
        raise DriverLoadError(f"cannot load driver {dotted_path!r}: {exc}") from exc
    if not isinstance(cls, type) or not issubclass(cls, base_class):
        raise DriverLoadError(f"driver {dotted_path!r} is not a {base_class.__module__}.{base_class.__qualname__}")
    # Checked before building it: a driver's constructor may already reach the host.
    return cls(*args, **kwargs)
