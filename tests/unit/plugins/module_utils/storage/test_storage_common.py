# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.skillvl.offline_first.plugins.module_utils.storage.common import (
    StorageError, check_abs_path, check_iqn, check_name, check_portal, normalize_client,
)


@pytest.mark.parametrize("spec, expected", [
    ("198.51.100.11", "198.51.100.11"),
    ("198.51.100.0/24", "198.51.100.0/24"),
    ("2001:db8::1", "2001:db8::1"),
    ("2001:db8::/32", "2001:db8::/32"),
    ("cloud1", "cloud1"),
    ("WS01.lab.example.org", "ws01.lab.example.org"),
    (" storage1 ", "storage1"),
])
def test_client_ok(spec, expected):
    assert normalize_client(spec) == expected


@pytest.mark.parametrize("spec, words", [
    ("*", "every host"),
    ("0.0.0.0/0", "every host"),
    ("198.51.100.5/24", "host bits set"),
    ("198.51.100.0/33", "neither a host nor a network"),
    ("198.51.100.300", "not a valid IP address"),
    ("bad..host", "neither a host nor a network"),
    ("-bad", "neither a host nor a network"),
    ("host name", "neither a host nor a network"),
    ("host(rw)", "neither a host nor a network"),
    ("", "empty"),
    ("198.51.100.0/abc", "neither a host nor a network"),
])
def test_client_refused(spec, words):
    with pytest.raises(StorageError) as exc:
        normalize_client(spec)
    assert words in str(exc.value)


def test_client_any_when_asked():
    assert normalize_client("*", allow_any=True) == "*"
    assert normalize_client("0.0.0.0/0", allow_any=True) == "0.0.0.0/0"


@pytest.mark.parametrize("path, words", [
    ("srv/x", "relative"),
    ("/srv/../etc", "normal form"),
    ("/srv//x", "normal form"),
    ("/", "root directory"),
    ("/srv/a b", "blank"),
    ('/srv/"x', "quote"),
    ("", "empty"),
])
def test_path_refused(path, words):
    with pytest.raises(StorageError) as exc:
        check_abs_path(path)
    assert words in str(exc.value)


def test_path_ok():
    assert check_abs_path("/srv/skillvl/vms") == "/srv/skillvl/vms"
    assert check_abs_path("/srv/skillvl/vms/") == "/srv/skillvl/vms"


@pytest.mark.parametrize("iqn", [
    "iqn.2026-11.org.skillvl:storage1.vms",
    "iqn.2003-01.org.linux-iscsi.host:sn.1234",
    "iqn.1993-08.org.debian:01:abcdef",
    "iqn.2026-11.org.skillvl",
])
def test_iqn_ok(iqn):
    assert check_iqn(iqn) == iqn


@pytest.mark.parametrize("iqn", [
    "iqn.2026-13.org.skillvl:x", "iqn.26-11.org.skillvl:x", "IQN.2026-11.org.skillvl:x",
    "iqn.2026-11.Org.skillvl:x", "iqn.2026-11..skillvl:x", "storage1", "iqn.2026-11.org.skillvl:a b", "",
])
def test_iqn_malformed(iqn):
    with pytest.raises(StorageError) as exc:
        check_iqn(iqn)
    assert "malformed" in str(exc.value)


@pytest.mark.parametrize("portal, expected", [
    ("198.51.100.31", ("198.51.100.31", 3260)),
    ("198.51.100.31:3261", ("198.51.100.31", 3261)),
    ("[2001:db8::1]:3260", ("2001:db8::1", 3260)),
    ("::", ("::", 3260)),
])
def test_portal(portal, expected):
    assert check_portal(portal) == expected


@pytest.mark.parametrize("portal", ["storage1:3260", "198.51.100.31:70000", "1.2.3"])
def test_portal_refused(portal):
    with pytest.raises(StorageError):
        check_portal(portal)


@pytest.mark.parametrize("name", ["", "-x", "a/b", "a b", "x" * 65, "../x"])
def test_name_refused(name):
    with pytest.raises(StorageError):
        check_name(name)
