"""libvirt XML built from config objects (Nova's LibvirtConfigObject), never by string joins."""
import xml.etree.ElementTree as ET


class ConfigObject:
    root_name = None

    def format_dom(self):
        raise NotImplementedError

    def to_xml(self):
        return ET.tostring(self.format_dom(), encoding="unicode")


def _sub(parent, tag, text=None, **attrs):
    node = ET.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        node.text = str(text)
    return node


class GuestDisk(ConfigObject):
    """<disk type="file" device="disk|cdrom"> on virtio (or another bus)."""

    def __init__(self, *, path, target_dev, driver_format="qcow2", bus="virtio", device="disk", readonly=False,
                 cache="none", serial=None):
        self.path, self.target_dev, self.driver_format, self.bus = path, target_dev, driver_format, bus
        self.device, self.readonly, self.cache, self.serial = device, readonly, cache, serial

    def format_dom(self):
        disk = ET.Element("disk", {"type": "file", "device": self.device})
        _sub(disk, "driver", name="qemu", type=self.driver_format, cache=self.cache)
        _sub(disk, "source", file=self.path)
        _sub(disk, "target", dev=self.target_dev, bus=self.bus)
        if self.readonly:
            _sub(disk, "readonly")
        if self.serial:
            _sub(disk, "serial", self.serial)
        return disk


class GuestInterface(ConfigObject):
    """A virtio NIC on a tap the network service made (``ethernet``, managed="no"), or on a
    bridge where libvirt makes the tap (``bridge``)."""

    def __init__(self, *, mac, devname, vif_type="ethernet", bridge=None, mtu=None, model="virtio"):
        self.mac, self.devname, self.vif_type, self.bridge, self.mtu, self.model = mac, devname, vif_type, bridge, mtu, model

    def format_dom(self):
        iface = ET.Element("interface", {"type": self.vif_type})
        _sub(iface, "mac", address=self.mac)
        if self.vif_type == "bridge":
            _sub(iface, "source", bridge=self.bridge)
            _sub(iface, "target", dev=self.devname)
        else:
            _sub(iface, "target", dev=self.devname, managed="no")
        _sub(iface, "model", type=self.model)
        if self.mtu:
            _sub(iface, "mtu", size=self.mtu)
        return iface


class GuestSerial(ConfigObject):
    """A serial port as a TCP chardev on the host's management address, with the log kept by
    virtlogd (DESIGN §6)."""

    def __init__(self, *, host, port, log_path):
        self.host, self.port, self.log_path = host, port, log_path

    def format_dom(self):
        serial = ET.Element("serial", {"type": "tcp"})
        _sub(serial, "source", mode="bind", host=self.host, service=self.port)
        _sub(serial, "protocol", type="raw")
        _sub(serial, "log", file=self.log_path, append="off")
        _sub(serial, "target", port=0)
        return serial


class GuestGraphics(ConfigObject):
    def __init__(self, *, listen="127.0.0.1", type_="vnc"):
        self.listen, self.type = listen, type_

    def format_dom(self):
        graphics = ET.Element("graphics", {"type": self.type, "autoport": "yes", "listen": self.listen})
        _sub(graphics, "listen", type="address", address=self.listen)
        return graphics


class GuestConfig(ConfigObject):
    """The domain: virt_type (kvm or qemu), memory, vcpus, BIOS boot from the first disk."""

    def __init__(self, *, virt_type, uuid, name, memory_mb, vcpus, metadata=None):
        self.virt_type, self.uuid, self.name, self.memory_mb, self.vcpus = virt_type, uuid, name, memory_mb, vcpus
        self.metadata = metadata or {}
        self.devices = []
        self.emulator = None
        self.os_type, self.arch, self.machine = "hvm", "x86_64", "pc"

    def add_device(self, device):
        self.devices.append(device)

    def format_dom(self):
        domain = ET.Element("domain", {"type": self.virt_type})
        _sub(domain, "uuid", self.uuid)
        _sub(domain, "name", self.name)
        if self.metadata:
            meta = _sub(domain, "metadata")
            inst = ET.SubElement(meta, "{http://monostack.invalid/xmlns/compute/1}instance")
            for key, value in sorted(self.metadata.items()):
                _sub(inst, "{http://monostack.invalid/xmlns/compute/1}" + key, value)
        _sub(domain, "memory", self.memory_mb * 1024, unit="KiB")
        _sub(domain, "vcpu", self.vcpus)
        os_ = _sub(domain, "os")
        _sub(os_, "type", self.os_type, arch=self.arch, machine=self.machine)
        _sub(os_, "boot", dev="hd")
        features = _sub(domain, "features")
        _sub(features, "acpi")
        _sub(features, "apic")
        if self.virt_type == "kvm":
            _sub(domain, "cpu", mode="host-passthrough")
        _sub(domain, "clock", offset="utc")
        _sub(domain, "on_poweroff", "destroy")
        _sub(domain, "on_reboot", "restart")
        _sub(domain, "on_crash", "destroy")
        devices = _sub(domain, "devices")
        if self.emulator:
            _sub(devices, "emulator", self.emulator)
        for device in self.devices:
            devices.append(device.format_dom())
        _sub(devices, "input", type="tablet", bus="usb")
        _sub(devices, "memballoon", model="virtio")
        return domain


ET.register_namespace("monostack", "http://monostack.invalid/xmlns/compute/1")


def parse_serial_port(xml_text):
    """The TCP port of a domain's serial chardev, or None (reading libvirt's XML back)."""
    root = ET.fromstring(xml_text)
    source = root.find("./devices/serial[@type='tcp']/source")
    return int(source.get("service")) if source is not None and source.get("service") else None
