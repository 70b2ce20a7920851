# -*- coding: utf-8 -*-
# Copyright (c) 2026, SKILL/VL offline-first team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Migration options: defaults, validation, and the libvirt flags/parameters per strategy.

Plain Python that works without libvirt-python: the flag values are libvirt's stable ABI numbers.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import math
import shlex

from ansible_collections.skillvl.offline_first.plugins.module_utils.backend import BackendError
from ansible_collections.skillvl.offline_first.plugins.module_utils.libvirt.session import TRANSPORTS, uri_transport
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration import dest_disks
from ansible_collections.skillvl.offline_first.plugins.module_utils.migration.monitor import POSTCOPY_RATIO

STRATEGIES = ('auto', 'precopy', 'auto_converge', 'postcopy')
STORAGE_MODES = ('shared', 'copy', 'copy_incremental')
# mt: QEMU's own zlib threads on the main stream (QEMU up to 9.0); with xbzrle it compresses the
# first round and XBZRLE the pages sent again (QEMU up to 8.1, Debian 12's 7.2 among them)
COMPRESSIONS = ('xbzrle', 'mt', 'zstd', 'zlib')
TIMEOUT_ACTIONS = ('abort', 'postcopy')
MODES = ('live', 'cold')

# Argument spec of the source and destination connections, shared by the modules that talk
# to both daemons (documented by the doc fragment skillvl.offline_first.libvirt_peer).
PEER_ARGS = dict(
    dest=dict(type='str', required=True),
    transport=dict(type='str', default='tls', choices=list(TRANSPORTS)),
    dest_user=dict(type='str'),
    dest_port=dict(type='int'),
    source_uri=dict(type='str', default='qemu:///system'),
)

# virDomainMigrateFlags
FLAGS = {
    'live': 1, 'peer2peer': 2, 'tunnelled': 4, 'persist_dest': 8, 'undefine_source': 16,
    'paused': 32, 'non_shared_disk': 64, 'non_shared_inc': 128, 'change_protection': 256,
    'unsafe': 512, 'offline': 1024, 'compressed': 2048, 'abort_on_error': 4096,
    'auto_converge': 8192, 'rdma_pin_all': 16384, 'postcopy': 32768, 'tls': 65536,
    'parallel': 131072, 'postcopy_resume': 524288,   # 1 << 19; 1 << 18 is NON_SHARED_SYNCHRONOUS_WRITES
}
# virsh migrate's options for the flags a post-copy resume repeats (the command an admin runs)
VIRSH_OPTIONS = {
    'live': '--live', 'peer2peer': '--p2p', 'tunnelled': '--tunnelled', 'persist_dest': '--persistent',
    'undefine_source': '--undefinesource', 'non_shared_disk': '--copy-storage-all',
    'non_shared_inc': '--copy-storage-inc', 'compressed': '--compressed', 'abort_on_error': '--abort-on-error',
    'auto_converge': '--auto-converge', 'postcopy': '--postcopy', 'tls': '--tls', 'parallel': '--parallel',
    'postcopy_resume': '--postcopy-resume',
}


def argument_spec():
    """vm_migrate's argument spec, the one definition of every option and its default.

    ``DEFAULTS`` below is generated from it, so a planner or an experiment runner that calls
    the engine without Ansible gets the same defaults as the module.
    """
    return dict(
        PEER_ARGS,
        name=dict(type='str', required=True),
        migrate_uri=dict(type='str'),
        tunnelled=dict(type='bool', default=False),
        mode=dict(type='str', default='live', choices=list(MODES)),
        strategy=dict(type='str', default='auto', choices=list(STRATEGIES)),
        allow_postcopy=dict(type='bool', default=False),
        bandwidth=dict(type='int', default=0),
        postcopy_bandwidth=dict(type='int', default=0),
        max_downtime=dict(type='int', default=300),
        parallel_connections=dict(type='int', default=0),
        compression=dict(type='list', elements='str', default=[], choices=list(COMPRESSIONS)),
        compression_level=dict(type='int'),
        xbzrle_cache=dict(type='int'),
        auto_converge_initial=dict(type='int'),
        auto_converge_increment=dict(type='int'),
        storage=dict(type='str', default='shared', choices=list(STORAGE_MODES)),
        dest_disks=dict(type='list', elements='dict', default=[], options=dest_disks.SPEC),
        persistent=dict(type='bool', default=True),
        undefine_source=dict(type='bool', default=True),
        timeout=dict(type='int', default=1800),
        timeout_action=dict(type='str', default='abort', choices=list(TIMEOUT_ACTIONS)),
        postcopy_resume_timeout=dict(type='int', default=300),
        stall_timeout=dict(type='int', default=10),
        stall_max_downtime=dict(type='int'),
        full_throttle_timeout=dict(type='int'),
        postcopy_ratio=dict(type='float', default=POSTCOPY_RATIO),
        cold_fallback=dict(type='bool', default=False),
        cold_shutdown_timeout=dict(type='int', default=120),
        cold_force_off=dict(type='bool', default=False),
        progress_log=dict(type='path'),
        poll_interval=dict(type='float', default=0.5),
    )


DEFAULTS = dict((key, copy.deepcopy(spec.get('default'))) for key, spec in argument_spec().items())

# Bounds that catch nonsense early, with the unit in the message.
MAX_BANDWIDTH = 1024 * 1024          # MiB/s (1 TiB/s)
MIN_DOWNTIME, MAX_DOWNTIME = 10, 600000   # ms
MAX_TIMEOUT = 7 * 24 * 3600          # s
COMPRESSION_LEVELS = {'mt': (0, 9), 'zstd': (0, 20), 'zlib': (0, 9)}


def stall_note(stall_max_downtime):
    """What a plan or a dry run says of a raised pause (vm_migrate's stall_max_downtime, ms)."""
    return 'should pre-copy stall, the pause may grow to %d ms' % stall_max_downtime


class MigrationError(BackendError):
    """A migration problem in an administrator's words.

    ``reasons`` carries the pre-flight findings when the verdict was negative; ``state``
    says where the VM is now (it is never left nowhere). The engine adds to ``message``
    (what it did about the failure) on the way out.
    """

    def __init__(self, message, reasons=None, state=None, figures=None, detail=None):
        super(MigrationError, self).__init__(message)
        self.reasons = reasons or []
        self.state = state
        self.figures = figures
        self.detail = detail

    @property
    def message(self):
        return self.msg

    @message.setter
    def message(self, value):
        self.msg = value

    def as_result(self):
        return dict(msg=self.msg, changed=self.changed, reasons=self.reasons, state=self.state or {},
                    figures=self.figures or {}, detail=self.detail)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def normalize(options):
    """Defaults filled in and every value checked; raises MigrationError listing all problems."""
    opts = copy.deepcopy(DEFAULTS)
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise MigrationError('unknown migration option(s): %s' % ', '.join(unknown))
    for key, value in options.items():
        if value is not None:
            opts[key] = value
    problems = []

    def need_int(key, low, high, unit):
        value = opts[key]
        if isinstance(value, str) and value.strip().lstrip('-').isdigit():
            value = int(value.strip())
            opts[key] = value
        if not _is_int(value) or not low <= value <= high:
            problems.append('%s must be a whole number between %s and %s %s, not "%s"'
                            % (key, low, high, unit, opts[key]))

    if not opts['name'] or not isinstance(opts['name'], str):
        problems.append('name (the VM to migrate) is required')
    if not opts['dest'] or not isinstance(opts['dest'], str):
        problems.append('dest (destination host or libvirt URI) is required')
    for key, allowed in (('transport', TRANSPORTS), ('mode', MODES), ('strategy', STRATEGIES),
                         ('storage', STORAGE_MODES), ('timeout_action', TIMEOUT_ACTIONS)):
        if opts[key] not in allowed:
            problems.append('%s must be one of %s, not "%s"' % (key, ', '.join(allowed), opts[key]))
    need_int('bandwidth', 0, MAX_BANDWIDTH, 'MiB/s (0 = no cap)')
    need_int('postcopy_bandwidth', 0, MAX_BANDWIDTH, 'MiB/s (0 = no cap)')
    need_int('max_downtime', MIN_DOWNTIME, MAX_DOWNTIME, 'ms')
    need_int('parallel_connections', 0, 255, 'connections (0 or 1 = no multifd)')
    need_int('timeout', 1, MAX_TIMEOUT, 's')
    need_int('stall_timeout', 1, 3600, 's')
    if opts['stall_max_downtime'] is not None:
        need_int('stall_max_downtime', MIN_DOWNTIME, MAX_DOWNTIME, 'ms')
        if _is_int(opts['stall_max_downtime']) and _is_int(opts['max_downtime']) \
                and opts['stall_max_downtime'] < opts['max_downtime']:
            problems.append('stall_max_downtime (%s ms) must be at least max_downtime (%s ms): it raises the '
                            'limit when pre-copy stalls' % (opts['stall_max_downtime'], opts['max_downtime']))
    if opts['full_throttle_timeout'] is not None:
        need_int('full_throttle_timeout', 1, MAX_TIMEOUT, 's')
    need_int('postcopy_resume_timeout', 0, MAX_TIMEOUT, 's (0 = report only, no automatic resume)')
    need_int('cold_shutdown_timeout', 1, 3600, 's')
    for key in ('auto_converge_initial', 'auto_converge_increment'):
        if opts[key] is not None:
            need_int(key, 1, 100, 'percent')
    if opts['xbzrle_cache'] is not None:
        need_int('xbzrle_cache', 1, 1024 * 1024, 'MiB')
    if opts['dest_port'] is not None:
        need_int('dest_port', 1, 65535, '')
    for key in ('tunnelled', 'allow_postcopy', 'persistent', 'undefine_source', 'cold_fallback', 'cold_force_off'):
        if not isinstance(opts[key], bool):
            problems.append('%s must be true or false, not "%s"' % (key, opts[key]))
    if opts['persistent'] is False and opts['undefine_source'] is True:
        problems.append('persistent=false with undefine_source=true would leave only a transient VM on the '
                        'destination (gone for good at its next shutdown): keep persistent=true or set '
                        'undefine_source=false')
    # a ratio above 1 would wait for a guest dirtying memory faster than the link: pre-copy then never ends
    if not _is_number(opts['postcopy_ratio']) or not 0 < opts['postcopy_ratio'] <= 1:
        problems.append('postcopy_ratio must be a number above 0 and at most 1 (a fraction of the link rate), '
                        'not "%s"' % (opts['postcopy_ratio'],))
    if not _is_number(opts['poll_interval']) or not 0.05 <= opts['poll_interval'] <= 60:
        problems.append('poll_interval must be between 0.05 and 60 s, not "%s"' % (opts['poll_interval'],))
    comp = opts['compression']
    if isinstance(comp, str):
        comp = [c.strip() for c in comp.split(',') if c.strip()]
    if not isinstance(comp, list) or any(c not in COMPRESSIONS for c in comp):
        problems.append('compression must be a list of %s, not "%s"' % (', '.join(COMPRESSIONS), opts['compression']))
        comp = []
    opts['compression'] = sorted(set(comp))
    multifd = _is_int(opts['parallel_connections']) and opts['parallel_connections'] > 1
    if set(comp) & set(('zstd', 'zlib')) and not multifd:
        problems.append('compression zstd/zlib works only with multifd: set parallel_connections to 2 or more')
    if len(set(comp) & set(('zstd', 'zlib'))) > 1:
        problems.append('choose one of zstd and zlib, not both')
    if opts['compression_level'] is not None:
        methods = [c for c in comp if c in COMPRESSION_LEVELS]
        if not methods:
            problems.append('compression_level applies to mt, zstd or zlib compression only')
        for method in methods:
            need_int('compression_level', COMPRESSION_LEVELS[method][0], COMPRESSION_LEVELS[method][1],
                     'for %s' % method)
    if 'xbzrle' in comp and multifd:
        problems.append('xbzrle compression cannot be combined with multifd (parallel_connections > 1); use zstd or zlib')
    if 'mt' in comp and multifd:
        problems.append('mt compression works on the main stream, not with multifd (parallel_connections > 1); '
                        'use zstd or zlib')
    if 'mt' in comp and (opts['strategy'] == 'postcopy' or opts['timeout_action'] == 'postcopy'
                         or (opts['strategy'] == 'auto' and opts['allow_postcopy'] is True)):
        problems.append('mt compression cannot be combined with post-copy (QEMU refuses it): leave allow_postcopy '
                        'false and timeout_action abort, or drop mt')
    if opts['strategy'] == 'postcopy' and multifd:
        problems.append('post-copy cannot be combined with multifd (parallel_connections > 1) by libvirt 9')
    if opts['tunnelled'] and opts['transport'] != 'ssh':
        problems.append('tunnelled applies to transport ssh only (tls encrypts the data stream itself)')
    if opts['tunnelled'] and (multifd or opts['strategy'] == 'postcopy'):
        problems.append('tunnelled migration supports neither multifd nor post-copy')
    if opts['mode'] == 'cold' and opts['cold_fallback']:
        problems.append('cold_fallback applies to live moves; mode is already cold')
    problems.extend(dest_disks.validate(opts['dest_disks']))
    if opts['dest_disks'] and opts['mode'] == 'cold':
        problems.append('dest_disks works with live moves only (libvirt copies the disks while the VM runs)')
    if opts['dest_disks'] and opts['cold_fallback']:
        problems.append('dest_disks cannot be combined with cold_fallback (a cold move does not place disks)')
    if opts['dest_disks'] and opts['storage'] == 'copy_incremental':
        problems.append('dest_disks copies whole disks: use storage shared or copy with it, not copy_incremental')
    if opts['migrate_uri'] is not None and '://' not in str(opts['migrate_uri']):
        problems.append('migrate_uri must look like tcp://ADDRESS[:PORT], not "%s"' % opts['migrate_uri'])
    if problems:
        raise MigrationError('invalid migration options: ' + '; '.join(problems))
    return opts


def stream_warnings(opts, tunnelled_option=True):
    """Warnings about who can read the migration stream, from raw or normalized options.

    With an SSH transport only libvirt's control connection goes through SSH: QEMU sends guest
    memory (and copied disks) in plain TCP to the destination's migration port, unless the
    stream is tunnelled through libvirt's connection. ``tunnelled_option`` says whether the
    caller can set ``tunnelled`` (vm_migration_check cannot: it names vm_migrate's option).
    """
    if (opts.get('mode') or 'live') != 'live':
        return []
    transport = uri_transport(opts.get('dest')) or opts.get('transport') or 'tls'
    if transport not in ('ssh', 'libssh', 'libssh2') or opts.get('tunnelled'):
        return []
    return ['transport ssh encrypts only the libvirt control connection: the QEMU migration stream (guest '
            'memory%s) goes in plain text over TCP to the destination\'s migration port, readable and alterable '
            'on the way. Use transport tls (QEMU native TLS), or %s (no multifd, no post-copy)'
            % (' and copied disks' if opts.get('storage') in ('copy', 'copy_incremental') else '',
               'tunnelled=true' if tunnelled_option else 'vm_migrate with tunnelled=true')]


def postcopy_allowed(opts):
    """Whether the migration may switch to post-copy at some point.

    Only when the caller asked for it: strategy postcopy, timeout_action postcopy, or strategy
    auto with allow_postcopy. From the switch on, the VM exists only as both hosts together.
    """
    if opts['tunnelled'] or opts['parallel_connections'] > 1 or opts.get('postcopy_unavailable'):
        return False
    return (opts['strategy'] == 'postcopy' or opts['timeout_action'] == 'postcopy'
            or (opts['strategy'] == 'auto' and opts['allow_postcopy']))


def auto_postcopy(opts):
    """Whether strategy auto may escalate to post-copy on the guest's dirty rate or a stall."""
    return opts['strategy'] == 'auto' and opts['allow_postcopy'] and postcopy_allowed(opts)


def build(opts, copy_disks=None):
    """(flags, params, flag names) for migrateToURI3 from normalized options.

    ``copy_disks`` lists the target names (vda, ...) of disks that need copying.
    """
    names = ['live', 'peer2peer', 'abort_on_error']
    strategy = opts['strategy']
    if strategy in ('auto', 'auto_converge'):
        names.append('auto_converge')
    if postcopy_allowed(opts):
        names.append('postcopy')
    if opts['persistent']:
        names.append('persist_dest')
    if opts['undefine_source']:
        names.append('undefine_source')
    if opts['transport'] == 'tls':
        names.append('tls')
    if opts['tunnelled']:
        names.append('tunnelled')
    params = {}
    if copy_disks:
        names.append('non_shared_inc' if opts['storage'] == 'copy_incremental' else 'non_shared_disk')
        params['migrate_disks'] = list(copy_disks)
    if opts['parallel_connections'] > 1:
        names.append('parallel')
        params['parallel.connections'] = opts['parallel_connections']
    if opts['compression']:
        names.append('compressed')
        params['compression'] = list(opts['compression'])
        level = opts['compression_level']
        if level is not None:
            for method in COMPRESSION_LEVELS:
                if method in opts['compression']:
                    params['compression.%s.level' % method] = level
        if opts['xbzrle_cache'] and 'xbzrle' in opts['compression']:
            params['compression.xbzrle.cache'] = opts['xbzrle_cache'] * 1024 * 1024
    if opts['bandwidth']:
        params['bandwidth'] = opts['bandwidth']
    if 'postcopy' in names and (opts['postcopy_bandwidth'] or opts['bandwidth']):
        # the cap holds in post-copy too unless a post-copy cap of its own is given
        params['bandwidth.postcopy'] = opts['postcopy_bandwidth'] or opts['bandwidth']
    if opts['migrate_uri']:
        params['migrate_uri'] = opts['migrate_uri']
    if opts['auto_converge_initial'] and 'auto_converge' in names:
        params['auto_converge.initial'] = opts['auto_converge_initial']
    if opts['auto_converge_increment'] and 'auto_converge' in names:
        params['auto_converge.increment'] = opts['auto_converge_increment']
    flags = 0
    for name in names:
        flags |= FLAGS[name]
    return flags, params, names


def resume_command(name, dest_uri, flags, params=None, source_uri='qemu:///system'):
    """The virsh command that resumes a failed post-copy by hand, on the source host.

    The original call's flags and URIs plus ``--postcopy --postcopy-resume``: never a ``virsh
    resume`` of the source, which libvirt refuses there and which would make two copies.
    """
    flags = flags | FLAGS['postcopy'] | FLAGS['postcopy_resume'] | FLAGS['peer2peer']
    words = ['virsh', '-c', shlex.quote(source_uri), 'migrate']
    words += [VIRSH_OPTIONS[key] for key in sorted(VIRSH_OPTIONS, key=lambda k: FLAGS[k]) if flags & FLAGS[key]]
    params = params or {}
    if params.get('migrate_uri'):
        words += ['--migrateuri', shlex.quote(params['migrate_uri'])]
    if params.get('bandwidth.postcopy'):
        words += ['--postcopy-bandwidth', str(params['bandwidth.postcopy'])]
    words += [shlex.quote(name), shlex.quote(dest_uri)]
    return ' '.join(words)
