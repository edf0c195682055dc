#!/usr/bin/env python3
"""Dump what the real Cedar Backup 3 reads from config files, as JSON.

Usage: cedar_dump_config.py FILE...   (run with the interpreter of a venv
that has `pip install cedar-backup3`; set PYTHONUTF8=1).

For each file prints one JSON object per line:
  {"file": ..., "verdict": "unreadable" | "parse-error" | "invalid" | "valid",
   "message": Cedar's exception text (or null),
   "config": the parsed core config (when it parsed), in the shape and with
             the field names of cedar's `serde::Serialize` output of `Config`,
   "ext_verdicts": {extension: "parse-error" | "invalid" | "valid"}}

Only the reference implementation's public classes are used:
CedarBackup3.config.Config(xmlPath=..., validate=False) and each extension's
LocalConfig(xmlPath=..., validate=False/True).
"""

import json
import sys

from CedarBackup3.config import Config
from CedarBackup3.util import UNIT_BYTES, UNIT_GBYTES, UNIT_KBYTES, UNIT_MBYTES
from CedarBackup3.extend import amazons3, capacity, encrypt, mbox, mysql, postgresql, split, subversion

UNITS = {UNIT_BYTES: "bytes", UNIT_KBYTES: "kbytes", UNIT_MBYTES: "mbytes", UNIT_GBYTES: "gbytes"}


def fields(obj, spec):
    """spec: list of (json name, python attribute) or a plain name used for both."""
    if obj is None:
        return None
    out = {}
    for item in spec:
        name, attr = item if isinstance(item, tuple) else (item, item)
        out[name] = getattr(obj, attr)
    return out


def lst(values, conv=lambda v: v):
    return None if values is None else [conv(v) for v in values]


def vec(values, conv=lambda v: v):
    """A list that cedar models as a plain Vec (None and [] are the same)."""
    return [conv(v) for v in (values or [])]


def byte_quantity(bq):
    return None if bq is None else {"quantity": bq.quantity, "units": UNITS[bq.units]}


def local_peer(p):
    return fields(p, ["name", ("collect_dir", "collectDir"), ("ignore_failure_mode", "ignoreFailureMode")])


def remote_peer(p):
    d = fields(
        p,
        [
            "name",
            ("collect_dir", "collectDir"),
            ("remote_user", "remoteUser"),
            ("rcp_command", "rcpCommand"),
            ("rsh_command", "rshCommand"),
            ("cback_command", "cbackCommand"),
            "managed",
            ("managed_actions", "managedActions"),
            ("ignore_failure_mode", "ignoreFailureMode"),
        ],
    )
    d["managed_actions"] = lst(p.managedActions)
    return d


def action(a):
    d = fields(a, ["name", "module", "function", "index"])
    dep = a.dependencies
    d["dependencies"] = None if dep is None else {"before_list": vec(dep.beforeList), "after_list": vec(dep.afterList)}
    return d


def hook(h):
    return {"kind": "pre" if h.before else "post", "action": h.action, "command": h.command}


def core(c):
    out = {}
    out["reference"] = fields(c.reference, ["author", "revision", "description", "generator"])
    e = c.extensions
    out["extensions"] = None if e is None else {"order_mode": e.orderMode, "actions": vec(e.actions, action)}
    o = c.options
    out["options"] = None
    if o is not None:
        out["options"] = fields(
            o,
            [
                ("starting_day", "startingDay"),
                ("working_dir", "workingDir"),
                ("backup_user", "backupUser"),
                ("backup_group", "backupGroup"),
                ("rcp_command", "rcpCommand"),
                ("rsh_command", "rshCommand"),
                ("cback_command", "cbackCommand"),
            ],
        )
        out["options"]["managed_actions"] = lst(o.managedActions)
        out["options"]["overrides"] = vec(o.overrides, lambda v: {"command": v.command, "absolute_path": v.absolutePath})
        out["options"]["hooks"] = vec(o.hooks, hook)
    p = c.peers
    out["peers"] = None if p is None else {
        "local_peers": lst(p.localPeers, local_peer),
        "remote_peers": lst(p.remotePeers, remote_peer),
    }
    k = c.collect
    out["collect"] = None
    if k is not None:
        out["collect"] = {
            "target_dir": k.targetDir,
            "collect_mode": k.collectMode,
            "archive_mode": k.archiveMode,
            "ignore_file": k.ignoreFile,
            "absolute_exclude_paths": lst(k.absoluteExcludePaths),
            "exclude_patterns": lst(k.excludePatterns),
            "collect_files": lst(
                k.collectFiles,
                lambda f: {"absolute_path": f.absolutePath, "collect_mode": f.collectMode, "archive_mode": f.archiveMode},
            ),
            "collect_dirs": lst(
                k.collectDirs,
                lambda d: {
                    "absolute_path": d.absolutePath,
                    "collect_mode": d.collectMode,
                    "archive_mode": d.archiveMode,
                    "ignore_file": d.ignoreFile,
                    "link_depth": d.linkDepth,
                    "dereference": d.dereference,
                    "recursion_level": d.recursionLevel,
                    "absolute_exclude_paths": lst(d.absoluteExcludePaths),
                    "relative_exclude_paths": lst(d.relativeExcludePaths),
                    "exclude_patterns": lst(d.excludePatterns),
                },
            ),
        }
    s = c.stage
    out["stage"] = None if s is None else {
        "target_dir": s.targetDir,
        "local_peers": lst(s.localPeers, local_peer),
        "remote_peers": lst(s.remotePeers, remote_peer),
    }
    st = c.store
    out["store"] = None
    if st is not None:
        out["store"] = fields(
            st,
            [
                ("source_dir", "sourceDir"),
                ("media_type", "mediaType"),
                ("device_type", "deviceType"),
                ("device_path", "devicePath"),
                ("device_scsi_id", "deviceScsiId"),
                ("drive_speed", "driveSpeed"),
                ("check_data", "checkData"),
                ("check_media", "checkMedia"),
                ("warn_midnite", "warnMidnite"),
                ("no_eject", "noEject"),
                ("refresh_media_delay", "refreshMediaDelay"),
                ("eject_delay", "ejectDelay"),
            ],
        )
        out["store"]["blank_behavior"] = fields(st.blankBehavior, [("blank_mode", "blankMode"), ("blank_factor", "blankFactor")])
    pu = c.purge
    out["purge"] = None if pu is None else {
        "purge_dirs": lst(pu.purgeDirs, lambda d: {"absolute_path": d.absolutePath, "retain_days": d.retainDays})
    }
    return out


def modes(obj):
    return {"collect_mode": obj.collectMode, "compress_mode": obj.compressMode}


def ext_mysql(m):
    return {"user": m.user, "password": m.password, "compress_mode": m.compressMode, "all": m.all, "databases": lst(m.databases)}


def ext_postgresql(m):
    return {"user": m.user, "compress_mode": m.compressMode, "all": m.all, "databases": lst(m.databases)}


def ext_subversion(s):
    def repo(r):
        return {"repository_type": r.repositoryType, "repository_path": r.repositoryPath, **modes(r)}

    def rdir(r):
        return {
            "repository_type": r.repositoryType,
            "directory_path": r.directoryPath,
            **modes(r),
            "relative_exclude_paths": lst(r.relativeExcludePaths),
            "exclude_patterns": lst(r.excludePatterns),
        }

    return {**modes(s), "repositories": lst(s.repositories, repo), "repository_dirs": lst(s.repositoryDirs, rdir)}


def ext_mbox(s):
    def mfile(f):
        return {"absolute_path": f.absolutePath, **modes(f)}

    def mdir(d):
        return {
            "absolute_path": d.absolutePath,
            **modes(d),
            "relative_exclude_paths": lst(d.relativeExcludePaths),
            "exclude_patterns": lst(d.excludePatterns),
        }

    return {**modes(s), "mbox_files": lst(s.mboxFiles, mfile), "mbox_dirs": lst(s.mboxDirs, mdir)}


def ext_encrypt(e):
    return {"encrypt_mode": e.encryptMode, "encrypt_target": e.encryptTarget}


def ext_split(s):
    return {"size_limit": byte_quantity(s.sizeLimit), "split_size": byte_quantity(s.splitSize)}


def ext_capacity(c):
    mp = c.maxPercentage
    return {"max_percentage": None if mp is None else {"quantity": mp.quantity}, "min_bytes": byte_quantity(c.minBytes)}


def ext_amazons3(a):
    return {
        "warn_midnite": a.warnMidnite,
        "s3_bucket": a.s3Bucket,
        "encrypt_command": a.encryptCommand,
        "full_backup_size_limit": byte_quantity(a.fullBackupSizeLimit),
        "incremental_backup_size_limit": byte_quantity(a.incrementalBackupSizeLimit),
    }


EXTENSIONS = [
    ("mysql", mysql, ext_mysql),
    ("postgresql", postgresql, ext_postgresql),
    ("subversion", subversion, ext_subversion),
    ("mbox", mbox, ext_mbox),
    ("encrypt", encrypt, ext_encrypt),
    ("split", split, ext_split),
    ("capacity", capacity, ext_capacity),
    ("amazons3", amazons3, ext_amazons3),
]


def dump(path):
    result = {"file": path, "verdict": None, "message": None, "config": None, "ext_verdicts": {}}
    try:
        config = Config(xmlPath=path, validate=False)
    except OSError as e:
        result["verdict"] = "unreadable"
        result["message"] = str(e)
        return result
    except Exception as e:  # ValueError (incl. UnicodeDecodeError) and anything Cedar lets escape
        result["verdict"] = "parse-error"
        result["message"] = "%s: %s" % (type(e).__name__, e)
        return result
    result["config"] = core(config)
    ext = {}
    errors = {}
    for name, module, conv in EXTENSIONS:
        try:
            local = module.LocalConfig(xmlPath=path, validate=False)
            section = getattr(local, name)
            ext[name] = None if section is None else conv(section)
        except Exception:
            ext[name] = None
            errors[name] = True
            result["ext_verdicts"][name] = "parse-error"
            continue
        try:
            module.LocalConfig(xmlPath=path, validate=True)
            result["ext_verdicts"][name] = "valid"
        except Exception:
            result["ext_verdicts"][name] = "invalid"
    if errors:
        ext["parse_errors"] = errors
    result["config"]["ext"] = ext
    try:
        config.validate()
        result["verdict"] = "valid"
    except Exception as e:
        result["verdict"] = "invalid"
        result["message"] = str(e)
    return result


def main():
    for path in sys.argv[1:]:
        print(json.dumps(dump(path), sort_keys=True))


if __name__ == "__main__":
    main()
