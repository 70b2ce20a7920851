# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a VM is, and so which host a migration starts from: exactly one, or a clear refusal.

Plain Python: the input is what each hypervisor of the inventory said about the VM
(its libvirt state, or None when the host could not be asked), so a playbook filter, the
planner and an experiment runner decide the same way.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# States in which a QEMU process exists for the VM (it holds its disk and memory).
ACTIVE_STATES = frozenset(('running', 'paused', 'blocked', 'pmsuspended', 'shutdown', 'nostate'))
MODES = ('live', 'cold')


def answer(result):
    """(state, None) from one registered vm_migration_info result, or (None, why) when the host could
    not be asked (unreachable, libvirt down: the module failed, whatever failed_when made of it)."""
    if not result.get('unreachable') and not result.get('failed') and 'vm_state' in result:
        return result['vm_state'], None
    return None, result.get('msg') or ('unreachable' if result.get('unreachable') else 'no answer')


def _hosts(names):
    return ', '.join(sorted(names))


def _unasked_note(unasked):
    if not unasked:
        return ''
    return '; could not ask %s' % _hosts('%s (%s)' % (h, why) if why else h for h, why in unasked.items())


def migration_source(vm, states, target, source=None, mode='live', errors=None):
    """Choose the one host to migrate ``vm`` from.

    ``states`` maps every hypervisor of the inventory to the VM's state there ('absent' when it
    has no such VM) or None when it could not be asked; ``errors`` optionally gives the reason
    for each host that could not be asked.

    Returns a dict: ``source`` (a host, or None when there is nothing to do or on refusal),
    ``error`` (why the move is refused, or None), ``msg`` (what was decided), ``active`` and
    ``defined`` (hosts where the VM runs / is defined), ``unasked`` (hosts not asked).
    """
    errors = errors or {}
    unasked = dict((h, errors.get(h)) for h, s in states.items() if s is None)
    active = sorted(h for h, s in states.items() if s in ACTIVE_STATES)
    defined = sorted(h for h, s in states.items() if s not in (None, 'absent'))
    out = {'vm': vm, 'source': None, 'error': None, 'msg': None, 'active': active, 'defined': defined,
           'unasked': sorted(unasked), 'already_there': False}

    def refuse(msg):
        out['error'] = msg
        return out

    if mode not in MODES:
        return refuse('mode must be one of %s, not %r' % (', '.join(MODES), mode))
    if target not in states:
        return refuse('the target %s is not a hypervisor of this inventory' % target)
    if source is not None and source not in states:
        return refuse('the source %s is not a hypervisor of this inventory' % source)
    if target in unasked:
        return refuse('cannot ask the target %s about VM %s%s' % (target, vm, ': %s' % unasked[target]
                                                                  if unasked[target] else ''))
    if len(active) > 1:
        return refuse('VM %s runs on %s: a VM must run in one place, so neither copy is moved. '
                      'Find the current one (its clients, its disk), stop the other with virsh destroy, '
                      'then migrate again' % (vm, ' and '.join(active)))

    if source is not None:
        if source == target:
            return refuse('the source and the target are both %s' % target)
        if source in unasked:
            return refuse('cannot ask the source %s about VM %s%s' % (source, vm, ': %s' % unasked[source]
                                                                      if unasked[source] else ''))
        if active and active != [source]:
            return refuse('VM %s runs on %s, not on the source %s given' % (vm, active[0], source))
        if mode == 'live' and source not in active:
            return refuse('VM %s does not run on %s (%s there): a live migration needs a running VM; '
                          '-e mode=cold moves a stopped one' % (vm, source, states[source]))
        if source not in defined:
            return refuse('%s has no VM called %s' % (source, vm))
        out.update(source=source, msg='VM %s moves from %s to %s%s' % (vm, source, target, _unasked_note(unasked)))
        return out

    if active == [target]:
        out.update(already_there=True,
                   msg='VM %s already runs on %s: nothing to migrate%s' % (vm, target, _unasked_note(unasked)))
        return out
    if active:
        candidates = active
    elif mode == 'live':
        if defined:
            return refuse('VM %s runs nowhere (defined, not running, on %s): a live migration needs a running '
                          'VM; -e mode=cold moves a stopped one' % (vm, _hosts(defined)))
        return refuse('no hypervisor knows a VM called %s%s' % (vm, _unasked_note(unasked)))
    else:
        candidates = [h for h in defined if h != target]
        if not candidates:
            if target in defined:
                out.update(already_there=True, msg='VM %s is already defined on %s: nothing to move%s'
                           % (vm, target, _unasked_note(unasked)))
                return out
            return refuse('no hypervisor knows a VM called %s%s' % (vm, _unasked_note(unasked)))
        if len(candidates) > 1:
            return refuse('VM %s is defined, stopped, on %s: say which copy to move with -e source=HOST'
                          % (vm, ' and '.join(candidates)))
    out.update(source=candidates[0], msg='VM %s moves from %s to %s%s' % (vm, candidates[0], target,
                                                                          _unasked_note(unasked)))
    return out


START_WANTS = ('running', 'shutdown')


def start_check(vm, states, home, want='running', errors=None, unverified_ok=False):
    """May the vm role define and start ``vm`` on its home host ``home``?

    ``states`` and ``errors`` are as for migration_source(): every hypervisor of the inventory
    mapped to the VM's state there, None for a host that could not be asked. ``want`` is the
    state the role brings the VM to (running or shutdown). ``unverified_ok`` lets the VM start
    although some host could not be asked (the admin knows it runs nowhere else).

    Returns a dict: ``action`` is ``manage`` (define it on its home and bring it to ``want``),
    ``leave`` (it lives on another host now: touch nothing) or ``refuse`` (touching it could
    make a second copy, or there already are two: the role fails for it); ``msg`` says why;
    ``active``, ``defined``, ``unasked`` list the hosts; ``states`` is the input.
    """
    errors = errors or {}
    unasked = dict((h, errors.get(h)) for h, s in states.items() if s is None)
    active = sorted(h for h, s in states.items() if s in ACTIVE_STATES)
    defined = sorted(h for h, s in states.items() if s not in (None, 'absent'))
    out = {'vm': vm, 'home': home, 'action': 'manage', 'msg': None, 'active': active, 'defined': defined,
           'unasked': sorted(unasked), 'states': dict(states)}

    def decide(action, msg):
        out.update(action=action, msg=msg)
        return out

    if want not in START_WANTS:
        return decide('refuse', 'VM %s: state must be one of %s here, not %r' % (vm, ', '.join(START_WANTS), want))
    if home not in states:
        return decide('refuse', 'VM %s: its home %s is not a hypervisor of this inventory' % (vm, home))
    elsewhere = [h for h in active if h != home]
    if elsewhere and home in active:
        return decide('refuse', 'VM %s runs on %s: a VM must run in one place, so the role touches neither copy. '
                      'Find the current one (its clients, its disk), stop the other with virsh destroy, then run '
                      'the role again' % (vm, ' and '.join(active)))
    if elsewhere:
        return decide('leave', 'VM %s runs on %s (it was migrated there): left where it is, not defined or started '
                      'on its home %s' % (vm, ' and '.join(elsewhere), home))
    stopped_elsewhere = [h for h in defined if h != home]
    if stopped_elsewhere and home not in defined:
        return decide('leave', 'VM %s is defined, stopped, on %s (it was migrated there): left there, not defined '
                      'on its home %s' % (vm, _hosts(stopped_elsewhere), home))
    starts = want == 'running' and home not in active
    if starts and unasked:
        why = _unasked_note(unasked)[2:]
        if unverified_ok:
            return decide('manage', 'VM %s starts on %s without knowing where else it runs (%s): '
                          'vm_start_unverified is set' % (vm, home, why))
        return decide('refuse', 'VM %s is not started on %s: %s, so it may run there already (two copies on one '
                      'disk corrupt it). Bring the host back, or, once you know the VM runs nowhere else, run '
                      'again with -e vm_start_unverified=true' % (vm, home, why))
    return decide('manage', 'VM %s is %s on its home %s' % (vm, want, home))
