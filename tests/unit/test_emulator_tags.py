"""The emulator answers a resource's tags from its own entry: the same answer as
moto's DescribeTags scan, in time independent of how many resources are tagged."""

from __future__ import annotations

from moto.ec2.models.core import TaggedEC2Resource

from network.offline.aws import AwsEmulator
from network.offline.aws.patching import original


def test_tags_read_by_id_equal_moto_s_scan_in_the_same_order() -> None:
    with AwsEmulator(seed=1) as emu:
        ec2 = emu.client("ec2", "eu-west-1")
        vpcs = [
            ec2.create_vpc(
                CidrBlock=f"10.{i}.0.0/16",
                TagSpecifications=[
                    {
                        "ResourceType": "vpc",
                        "Tags": [{"Key": "b", "Value": str(i)}, {"Key": "a", "Value": "x"}],
                    }
                ],
            )["Vpc"]["VpcId"]
            for i in range(5)
        ]
        ec2.create_tags(Resources=[vpcs[2]], Tags=[{"Key": "Name", "Value": "two"}])
        ec2.delete_tags(Resources=[vpcs[3]], Tags=[{"Key": "b"}])
        backend_vpcs = {v["VpcId"]: v for v in ec2.describe_vpcs()["Vpcs"]}
        from moto.ec2.models import ec2_backends

        backend = ec2_backends["123456789012"]["eu-west-1"]
        untagged = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        for vid in [*vpcs, untagged]:
            model = backend.vpcs[vid]
            assert model.get_tags() == original(TaggedEC2Resource, "get_tags")(model)
        # and through the API, as every describe serializes them
        assert backend_vpcs[vpcs[2]]["Tags"] == [
            {"Key": "b", "Value": "2"},
            {"Key": "a", "Value": "x"},
            {"Key": "Name", "Value": "two"},
        ]
        assert backend_vpcs[vpcs[3]]["Tags"] == [{"Key": "a", "Value": "x"}]
        assert (
            "Tags" not in ec2.describe_vpcs(VpcIds=[untagged])["Vpcs"][0]
            or not (ec2.describe_vpcs(VpcIds=[untagged])["Vpcs"][0]["Tags"])
        )
    assert TaggedEC2Resource.get_tags is not None  # moto's own method is back
    assert TaggedEC2Resource.__dict__["get_tags"].__module__.startswith("moto.")
