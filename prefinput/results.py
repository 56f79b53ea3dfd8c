"""What a program made, as it hands it to the example driver and to sweeps:
the files by name, so nothing is found again by globbing a folder."""
from dataclasses import dataclass, field
from typing import List, Optional


@dataclass
class Frame:
    """An intermediate image: a DGN-AM iteration (--debug 1), a kept PPGN sample."""
    file: str
    unit: Optional[int]  # the unit being activated when it was made (None: a caption)


@dataclass
class Result:
    """One run's final image, the unit it activates and its intermediate images."""
    file: str
    unit: Optional[int]
    activation: Optional[float] = None
    frames: List[Frame] = field(default_factory=list)
    objective: Optional[str] = None  # the --objective it raises (a sum of units; `unit` None unless one)
