#!/usr/bin/env bash
# Installs Debian's Slurm (slurm-wlm: slurmctld, slurmd and the client
# commands sbatch, squeue, sinfo, scontrol) and munge, the real engine the
# launcher tests (shard/launch, internal/slurmtest) run a single-node cluster
# of. The tests start their own daemons with their own configuration in a
# temporary folder; this script only installs the programs, and stops the
# daemons Debian's packages start on install (none must run outside a test).
#
# Idempotent: nothing is done when every program is there and runs. As root
# it installs what is missing after an apt-get update; as another user it
# says the command to run. Every failure stops the script with a message and
# a non-zero status.
set -euo pipefail

die() { echo "install-slurm: $*" >&2; exit 1; }

progs=(/usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged /usr/bin/sbatch /usr/bin/squeue /usr/bin/sinfo /usr/bin/scontrol /usr/sbin/mungekey)
ok=1
for p in "${progs[@]}"; do [ -x "$p" ] || ok=0; done
if [ $ok -eq 1 ] && /usr/sbin/slurmd -V >/dev/null 2>&1; then
  echo "$(/usr/sbin/slurmd -V) and munge $(/usr/sbin/munged -V 2>&1 | awk '{print $1}' | sed 's/munge-//') already installed"
  exit 0
fi

pkgs=(slurm-wlm munge)
command -v apt-get >/dev/null || die "no apt-get: install Debian's ${pkgs[*]} packages (slurmctld, slurmd, sbatch, munged) by hand"
if [ "$(id -u)" -ne 0 ]; then
  die "missing Slurm or munge: run 'sudo apt-get update && sudo apt-get install -y ${pkgs[*]}', then again"
fi
echo "installing ${pkgs[*]}" >&2
apt-get update -qq || die "apt-get update failed"
# policy-rc.d 101: the packages' init scripts must not start daemons here.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
fi
status=0
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null || status=$?
[ $own_policy -eq 1 ] && rm -f "$policy"
[ $status -eq 0 ] || die "apt-get install ${pkgs[*]} failed"
for p in "${progs[@]}"; do [ -x "$p" ] || die "installed ${pkgs[*]} but there is no $p"; done
/usr/sbin/slurmd -V >/dev/null 2>&1 || die "/usr/sbin/slurmd does not run: $(/usr/sbin/slurmd -V 2>&1 | tail -1)"
echo "$(/usr/sbin/slurmd -V) and munge installed"
