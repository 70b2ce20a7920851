"""Both inventories parse, group their hosts as the playbooks expect, and every playbook passes
a syntax check against each of them."""
import glob
import json
import os
import subprocess

import pytest

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.join(TOP, ".venv", "bin")
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(TOP, "ansible.cfg"))
PLAYBOOKS = sorted(glob.glob(os.path.join(TOP, "playbooks", "*.yml")))


def inventory(name):
    out = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(TOP, "inventories", name),
                          "--list"], capture_output=True, text=True, env=ENV, cwd=TOP, check=True).stdout
    return json.loads(out)


def hosts_of(inv, group):
    found = set(inv.get(group, {}).get("hosts", []))
    for child in inv.get(group, {}).get("children", []):
        found |= hosts_of(inv, child)
    return found


def test_skillvl_inventory_models_the_real_setting():
    inv = inventory("skillvl")
    assert len(hosts_of(inv, "cloud") | hosts_of(inv, "storage")) == 12
    assert len(hosts_of(inv, "lab_clients")) == 24
    assert hosts_of(inv, "hypervisors") == hosts_of(inv, "cloud") | hosts_of(inv, "lab_clients")
    hostvars = inv["_meta"]["hostvars"]
    addresses = [hostvars[h]["skillvl_underlay_address"] for h in hosts_of(inv, "all")]
    assert len(addresses) == len(set(addresses)) == 36
    assert all(not a.startswith("192.0.2.") for a in addresses)


def test_lab_inventory_has_the_four_lab_hosts():
    inv = inventory("lab")
    assert hosts_of(inv, "cloud") == {"cloud1"}
    assert hosts_of(inv, "lab_clients") == {"ws01", "ws02"}
    assert hosts_of(inv, "storage") == {"storage1"}


@pytest.mark.parametrize("inv", ["skillvl", "lab"])
def test_inventory_graph(inv):
    subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(TOP, "inventories", inv), "--graph"],
                   capture_output=True, env=ENV, cwd=TOP, check=True)


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=os.path.basename)
@pytest.mark.parametrize("inv", ["skillvl", "lab"])
def test_playbook_syntax(inv, playbook):
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(TOP, "inventories", inv),
                           "--syntax-check", playbook], capture_output=True, text=True, env=ENV, cwd=TOP, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
