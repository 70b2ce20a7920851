"""Each lab host names its own container. A task delegated to another host (the vm role and
migrate.yml ask every hypervisor) templates the delegated host's ansible_host with the
delegating host's variables: a shared "{{ lab_name }}-{{ inventory_hostname }}" reached the
delegating container every time, so "every hypervisor" was cloud1 three times."""
import os

import yaml

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAB = os.path.join(TOP, "inventories", "lab")


def lab_hosts(group):
    """Every host with the variables it is given; a host listed again in another group (ceph,
    ceph_clients) without variables keeps those."""
    found = {}
    for name, hvars in (group.get("hosts") or {}).items():
        found[name] = dict(found.get(name) or {}, **(hvars or {}))
    for child in (group.get("children") or {}).values():
        for name, hvars in lab_hosts(child or {}).items():
            found[name] = dict(found.get(name) or {}, **hvars)
    return found


def test_every_lab_host_names_its_own_container():
    with open(os.path.join(LAB, "hosts.yml")) as f:
        hosts = lab_hosts(yaml.safe_load(f)["all"])
    assert set(hosts) == {"cloud1", "ws01", "ws02", "storage1"}
    for name, hvars in hosts.items():
        assert hvars["ansible_host"] == ("{{ '%s' if lab_connection == 'ssh' else lab_name ~ '-%s' }}"
                                         % (hvars["skillvl_underlay_address"], name)), name


def test_no_group_derives_ansible_host_from_inventory_hostname():
    for root, _dirs, files in os.walk(os.path.join(LAB, "group_vars")):
        for fname in files:
            with open(os.path.join(root, fname)) as f:
                data = yaml.safe_load(f) or {}
            assert "inventory_hostname" not in str(data.get("ansible_host", "")), os.path.join(root, fname)
