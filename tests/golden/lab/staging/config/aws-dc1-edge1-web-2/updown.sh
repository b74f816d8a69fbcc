#!/bin/sh
# crossnet lab, AWS side of tunnel dc1-edge1-web/2: aws1281 in cxl.staging.gw.web-vgw follows the SA.
case "$PLUTO_VERB" in up-client|down-client) ;; *) exit 0 ;; esac
(
  exec 9>>/run/crossnet-updown.lock
  flock 9
  if STRONGSWAN_CONF=/var/lib/crossnet/staging/lab/config/aws-dc1-edge1-web-2/strongswan.conf swanctl --list-sas --ike dc1-edge1-web-2 --raw \
       --uri unix:///run/charon.vici 2>/dev/null | grep -q 'state=INSTALLED'; then
    ip -n cxl.staging.gw.web-vgw link set dev aws1281 up
  else
    ip -n cxl.staging.gw.web-vgw link set dev aws1281 down
  fi
) </dev/null >/dev/null 2>&1 &
exit 0
