"""crossnet's Pulumi program: `pulumi up` runs this, and so does `crossnet up` offline."""

from network.program import run

run()
