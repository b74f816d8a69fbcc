#!/bin/sh
# crossnet lab, AWS side of tunnel branch-edge1-legacy/2: aws7521 in cxl.hybrid.gw.legacy-vgw follows the SA.
case "$PLUTO_VERB" in up-client|down-client) ;; *) exit 0 ;; esac
(
  exec 9>>/run/crossnet-updown.lock
  flock 9
  if STRONGSWAN_CONF=/var/lib/crossnet/hybrid/lab/config/aws-branch-edge1-legacy-2/strongswan.conf swanctl --list-sas --ike branch-edge1-legacy-2 --raw \
       --uri unix:///run/charon.vici 2>/dev/null | grep -q 'state=INSTALLED'; then
    ip -n cxl.hybrid.gw.legacy-vgw link set dev aws7521 up
  else
    ip -n cxl.hybrid.gw.legacy-vgw link set dev aws7521 down
  fi
) </dev/null >/dev/null 2>&1 &
exit 0
