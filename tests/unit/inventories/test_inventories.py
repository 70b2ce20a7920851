"""Both inventories parse, group their hosts as the playbooks expect, and every playbook passes
a syntax check against each of them."""
import glob
import json
import os
import subprocess

import pytest
import yaml

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
    assert len(hosts_of(inv, "workstations")) == 24
    assert hosts_of(inv, "hypervisors") == hosts_of(inv, "cloud") | hosts_of(inv, "workstations")
    hostvars = inv["_meta"]["hostvars"]
    addresses = [hostvars[h]["skillvl_underlay_address"] for h in hosts_of(inv, "all")]
    assert len(addresses) == len(set(addresses)) == 36
    assert all(not a.startswith("192.0.2.") for a in addresses)


def test_lab_inventory_has_the_four_lab_hosts():
    inv = inventory("lab")
    assert hosts_of(inv, "cloud") == {"cloud1"}
    assert hosts_of(inv, "workstations") == {"ws01", "ws02"}
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


# What the lab may override of the production settings: only what this platform forces
# (docs/lab.md). A new entry here needs a reason there.
LAB_OVERRIDES = {
    "skillvl_apt_update_cache",      # no apt inside the lab's containers
    "skillvl_underlay_prefixlen",    # the lab's underlay is one /24
    "skillvl_virt_type",             # no usable KVM: TCG
    "skillvl_storage_client_mode",   # no kernel NFS client or iSCSI initiator: QEMU's own
    "skillvl_storage_iscsi_lun_size",
    "kvm_host_qemu_backports",       # QEMU 7.2 loses memory writes when migrating under TCG
    "ovs_overlay_datapath_type",     # no OVS kernel datapath: userspace
    "nfs_server_backend",            # no nfsd: nfs-ganesha
    "iscsi_target_backend",          # no LIO: tgt
    "vm_guests",                     # the lab's small guest instead of the cloud image
    "wan_emulation_method",          # no sch_netem: a userspace forwarder
    "wan_emulation_interface",       # ... on the host's port of the underlay bridge
    "wan_emulation_runs_on",         # ... which the controller holds
    "wan_emulation_rtt_slack_ms",    # ... and shares two noisy cores with the TCG guests
}


def group_vars_files(name):
    root = os.path.join(TOP, "inventories", name, "group_vars")
    return sorted(glob.glob(os.path.join(root, "*", "*.yml")))


def keys_of(path):
    with open(path) as f:
        return set(yaml.safe_load(f) or {})


def test_lab_inherits_every_production_group_vars_file():
    linked = {os.path.realpath(p) for p in group_vars_files("lab") if os.path.islink(p)}
    production = {os.path.realpath(p) for p in group_vars_files("skillvl")}
    assert linked == production


def test_lab_overrides_only_what_the_platform_forces():
    production = set().union(*(keys_of(p) for p in group_vars_files("skillvl")))
    lab_own = set().union(*(keys_of(p) for p in group_vars_files("lab") if not os.path.islink(p)))
    assert lab_own & production == LAB_OVERRIDES


def test_lab_hosts_see_the_production_values():
    """Where the lab overrides nothing, a lab host gets the production value (same group)."""
    lab = json.loads(subprocess.run(
        [os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(TOP, "inventories", "lab"), "--host", "ws01"],
        capture_output=True, text=True, env=ENV, cwd=TOP, check=True).stdout)
    prod = json.loads(subprocess.run(
        [os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(TOP, "inventories", "skillvl"), "--host",
         "lab237-ws01"], capture_output=True, text=True, env=ENV, cwd=TOP, check=True).stdout)
    shared = {k for k in prod if k in lab and k not in LAB_OVERRIDES
              and k not in ("ansible_host", "skillvl_underlay_address", "ansible_user", "ansible_become")}
    assert shared, "the lab inherits nothing"
    assert {k: lab[k] for k in shared} == {k: prod[k] for k in shared}
    for key in ("skillvl_migration_strategy", "skillvl_migration_timeout", "skillvl_migration_full_throttle_timeout",
                "kvm_host_migration_port_min", "nfs_client_server", "iscsi_initiator_chap_password"):
        assert key in shared
