"""network.lab.traffic's reading of ping's output: when each lost ping was sent."""

from __future__ import annotations

from network.lab.traffic import INTERVAL, lost_times, reply_times

# `ping -D -n -i 0.02 -c 8 127.0.0.1` as recorded, with the replies of 4 and 5 taken out
# (what a loss looks like) and a duplicate of 7.
RECORDED = """\
PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
[1796629085.384831] 64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.020 ms
[1796629085.406029] 64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=0.034 ms
[1796629085.430072] 64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=0.049 ms
[1796629085.502041] 64 bytes from 127.0.0.1: icmp_seq=6 ttl=64 time=0.033 ms
[1796629085.529985] 64 bytes from 127.0.0.1: icmp_seq=7 ttl=64 time=0.034 ms
[1796629085.530101] 64 bytes from 127.0.0.1: icmp_seq=7 ttl=64 time=0.151 ms (DUP!)
[1796629085.558107] 64 bytes from 127.0.0.1: icmp_seq=8 ttl=64 time=0.035 ms

--- 127.0.0.1 ping statistics ---
8 packets transmitted, 6 received, +1 duplicates, 25% packet loss, time 173ms
"""


def test_reply_times_reads_each_replys_stamp() -> None:
    stamps = reply_times(RECORDED)
    assert sorted(stamps) == [1, 2, 3, 6, 7, 8]
    assert stamps[3] == 1796629085.430072


def test_lost_pings_are_placed_after_the_reply_before_them() -> None:
    at = lost_times(reply_times(RECORDED), [4, 5])
    assert at == [
        round(1796629085.430072 + INTERVAL, 3),
        round(1796629085.430072 + 2 * INTERVAL, 3),
    ]
    assert at[0] < reply_times(RECORDED)[6]


def test_a_loss_before_any_reply_is_placed_before_the_first() -> None:
    stamps = {3: 100.0, 4: 100.02}
    assert lost_times(stamps, [1, 2]) == [99.96, 99.98]


def test_replies_without_a_stamp_still_count_but_place_nothing() -> None:
    stamps = reply_times("64 bytes from 10.0.0.1: icmp_seq=1 ttl=63 time=1.1 ms\n")
    assert stamps == {1: 0.0}
    assert lost_times(stamps, [2]) == []
