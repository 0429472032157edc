"""Write the rest layouts of the shipped rigs, derived from the SMPL-X rest table.

    .venv/bin/python tools/make_rig_layouts.py [--out core/retarget/data]

Writes core/retarget/data/metahuman_rest.json, mixamo_rest.json and rigify_rest.json: bone names,
parents and rest head positions (metres, SMPL-X axes: Y up, facing +Z, the character's left
at +X; the floor at y = 0). Every position comes from the SMPL-X rest joints of
core/data/smplx_rest.json (and the stature, hand length and finger-tip ratios measured there),
by the rules written into each file's "how" field, so all rigs share one body's proportions and
a retarget between them changes poses, not sizes. The layouts carry the rigs' bone names and
hierarchy; their bone rolls (local axes) are Blender's, not the originals'.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from motion_tokens.core import rotations as rot
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, smplx_skeleton

REPO = Path(__file__).resolve().parents[1]
REST_TABLE = REPO / "core" / "data" / "smplx_rest.json"
FINGERS = ("index", "middle", "ring", "pinky")  # MetaHuman / Rigify order of the palm bones
A_POSE_DEGREES = 45.0
METACARPAL_BASE = 0.25  # fraction of the wrist -> knuckle line where a metacarpal starts
TOE_TIP_OF_STATURE = 0.04  # toe-ball -> toe tip, fraction of stature (about 6.5 cm)
COMMAND = ".venv/bin/python tools/make_rig_layouts.py"
FRAME = "metres; SMPL-X axes: Y up, the character facing +Z, its left at +X; the floor at y = 0"


class Body:
    """The SMPL-X rest joints standing on the floor (y = 0), with the measured proportions."""

    def __init__(self):
        table = json.loads(REST_TABLE.read_text())
        m = table["measurements"]
        pos = smplx_skeleton().rest_positions()
        ankle = pos[SMPLX_JOINT_NAMES.index("left_ankle")]
        self.floor_shift = float(m["bandai_lengths_m"]["ankle_height"] - ankle[1])
        self.pos = {n: pos[i] + [0.0, self.floor_shift, 0.0] for i, n in enumerate(SMPLX_JOINT_NAMES)}
        self.stature = float(m["stature_estimate_m"])
        self.hand_length = float(m["hand_length_m"])
        self.tip_ratio = {f: float(v[2]) for f, v in m["hand_ratios_to_hand_length"]["segments"].items()}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.pos[name]

    def fingertip(self, side: str, finger: str) -> np.ndarray:
        """The tip of a finger: its last joint continued along its last segment by the measured
        tip length (hand-length ratio)."""
        a, b = self[f"{side}_{finger}2"], self[f"{side}_{finger}3"]
        return b + self.tip_ratio[finger] * self.hand_length * (b - a) / np.linalg.norm(b - a)


class Layout:
    """Joints in order (parents first) with rest heads; optional explicit tails."""

    def __init__(self):
        self.joints: list[dict] = []

    def add(self, name: str, parent: str | None, head, tail=None) -> None:
        assert parent is None or any(j["name"] == parent for j in self.joints), (name, parent)
        joint = {"name": name, "parent": parent, "head": [round(float(x), 6) for x in head]}
        if tail is not None:
            joint["tail"] = [round(float(x), 6) for x in tail]
        self.joints.append(joint)


def metahuman(body: Body) -> tuple[Layout, str]:
    lay = Layout()
    pelvis, neck, head = body["pelvis"], body["neck"], body["head"]
    lay.add("root", None, [pelvis[0], 0.0, pelvis[2]], tail=[pelvis[0], 0.0, pelvis[2] + 0.2])
    lay.add("pelvis", "root", pelvis)
    chest = body["spine3"]
    parent = "pelvis"
    for k in range(1, 6):
        lay.add(f"spine_0{k}", parent, pelvis + k / 5.0 * (chest - pelvis))
        parent = f"spine_0{k}"
    lay.add("neck_01", "spine_05", neck)
    lay.add("neck_02", "neck_01", 0.5 * (neck + head))
    lay.add("head", "neck_02", head)
    for side, s, sign in (("left", "l", -1.0), ("right", "r", 1.0)):
        shoulder = body[f"{side}_shoulder"]
        # A-pose: the arm from the shoulder joint down turned 45 degrees about the forward
        # axis (+Z), the left arm clockwise seen from the front, the right anticlockwise.
        turn = rot.axis_rotation_matrix("Z", np.radians(sign * A_POSE_DEGREES))

        def arm(name):
            return shoulder + turn @ (body[f"{side}_{name}"] - shoulder)

        lay.add(f"clavicle_{s}", "spine_05", body[f"{side}_collar"])
        lay.add(f"upperarm_{s}", f"clavicle_{s}", shoulder)
        lay.add(f"lowerarm_{s}", f"upperarm_{s}", arm("elbow"))
        lay.add(f"hand_{s}", f"lowerarm_{s}", arm("wrist"))
        wrist = arm("wrist")
        for finger in FINGERS:
            lay.add(f"{finger}_metacarpal_{s}", f"hand_{s}", wrist + METACARPAL_BASE * (arm(f"{finger}1") - wrist))
            parent = f"{finger}_metacarpal_{s}"
            for k in (1, 2, 3):
                lay.add(f"{finger}_0{k}_{s}", parent, arm(f"{finger}{k}"))
                parent = f"{finger}_0{k}_{s}"
        parent = f"hand_{s}"
        for k in (1, 2, 3):
            lay.add(f"thumb_0{k}_{s}", parent, arm(f"thumb{k}"))
            parent = f"thumb_0{k}_{s}"
    for side, s in (("left", "l"), ("right", "r")):
        lay.add(f"thigh_{s}", "pelvis", body[f"{side}_hip"])
        lay.add(f"calf_{s}", f"thigh_{s}", body[f"{side}_knee"])
        lay.add(f"foot_{s}", f"calf_{s}", body[f"{side}_ankle"])
        lay.add(f"ball_{s}", f"foot_{s}", body[f"{side}_foot"])
    how = (
        "MetaHuman / UE5 body bone names and hierarchy (root, pelvis, spine_01..05, neck_01, neck_02, head, "
        "clavicle, upperarm, lowerarm, hand, four finger chains with metacarpals, thumb_01..03, thigh, calf, foot, "
        "ball; no twist, corrective or IK bones), in an A-pose, placed on the SMPL-X rest joints of "
        "core/data/smplx_rest.json lifted so the feet stand on y = 0 (ankle at the measured Bandai ankle height). "
        "root: on the floor under the pelvis (tail 0.2 m forward). pelvis, neck_01, head, clavicle (SMPL-X collar), "
        "upperarm (SMPL-X shoulder), lowerarm (elbow), hand (wrist), finger joints 01..03 (SMPL-X finger joints "
        "1..3: MCP, PIP, DIP; thumb CMC, MCP, IP), thigh (hip), calf (knee), foot (ankle), ball (SMPL-X foot) sit on "
        "the SMPL-X joint named. spine_05 sits on SMPL-X spine3, the chest joint the clavicles hang from (13 cm below "
        "them, as UE skeletons have their upper chest bone), and spine_01..04 divide the pelvis -> spine3 line into "
        "five equal parts; neck_01 on the SMPL-X neck, neck_02 halfway "
        "from neck to head; each metacarpal starts a quarter of the way from the wrist to its knuckle. A-pose: "
        f"everything from the shoulder joint outwards turned {A_POSE_DEGREES:g} degrees down about the forward axis "
        "(palms down and inward), the legs straight as in the SMPL-X rest."
    )
    return lay, how


MIXAMO_BODY = (  # Mixamo bone (without the mixamorig: namespace), parent, SMPL-X joint
    ("Hips", None, "pelvis"), ("Spine", "Hips", "spine1"), ("Spine1", "Spine", "spine2"),
    ("Spine2", "Spine1", "spine3"), ("Neck", "Spine2", "neck"), ("Head", "Neck", "head"),
)
MIXAMO_FINGERS = (("Thumb", "thumb"), ("Index", "index"), ("Middle", "middle"), ("Ring", "ring"), ("Pinky", "pinky"))


def mixamo(body: Body) -> tuple[Layout, str]:
    lay = Layout()
    ns = "mixamorig:"
    for name, parent, joint in MIXAMO_BODY:
        lay.add(ns + name, None if parent is None else ns + parent, body[joint])
    lay.add(ns + "HeadTop_End", ns + "Head", [0.0, body.stature, body["head"][2]])
    for side, S in (("left", "Left"), ("right", "Right")):
        lay.add(f"{ns}{S}Eye", ns + "Head", body[f"{side}_eye_smplhf"])
    for side, S in (("left", "Left"), ("right", "Right")):
        lay.add(f"{ns}{S}Shoulder", ns + "Spine2", body[f"{side}_collar"])
        lay.add(f"{ns}{S}Arm", f"{ns}{S}Shoulder", body[f"{side}_shoulder"])
        lay.add(f"{ns}{S}ForeArm", f"{ns}{S}Arm", body[f"{side}_elbow"])
        lay.add(f"{ns}{S}Hand", f"{ns}{S}ForeArm", body[f"{side}_wrist"])
        for F, finger in MIXAMO_FINGERS:
            parent = f"{ns}{S}Hand"
            for k in (1, 2, 3):
                lay.add(f"{ns}{S}Hand{F}{k}", parent, body[f"{side}_{finger}{k}"])
                parent = f"{ns}{S}Hand{F}{k}"
            lay.add(f"{ns}{S}Hand{F}4", parent, body.fingertip(side, finger))
    for side, S in (("left", "Left"), ("right", "Right")):
        lay.add(f"{ns}{S}UpLeg", ns + "Hips", body[f"{side}_hip"])
        lay.add(f"{ns}{S}Leg", f"{ns}{S}UpLeg", body[f"{side}_knee"])
        lay.add(f"{ns}{S}Foot", f"{ns}{S}Leg", body[f"{side}_ankle"])
        lay.add(f"{ns}{S}ToeBase", f"{ns}{S}Foot", body[f"{side}_foot"])
        toe_tip = body[f"{side}_foot"] + [0.0, 0.0, TOE_TIP_OF_STATURE * body.stature]
        lay.add(f"{ns}{S}Toe_End", f"{ns}{S}ToeBase", toe_tip)
    how = (
        "Mixamo bone names (with the mixamorig: namespace of Mixamo's FBX files) and hierarchy, in a T-pose, every "
        "joint on the SMPL-X rest joint of core/data/smplx_rest.json it corresponds to (Hips pelvis, Spine/Spine1/"
        "Spine2 spine1/2/3, Neck, Head, Shoulder collar, Arm shoulder, ForeArm elbow, Hand wrist, Hand<Finger>1-3 "
        "finger joints 1-3, UpLeg hip, Leg knee, Foot ankle, ToeBase SMPL-X foot, Eye eye), lifted so the feet stand "
        "on y = 0. The end bones: HeadTop_End at the measured stature above the floor over the head joint; "
        "Hand<Finger>4 at the finger tip (the last segment continued by the measured tip length, a ratio of the "
        f"hand length); Toe_End {TOE_TIP_OF_STATURE:g} x stature ahead of the toe ball."
    )
    return lay, how


def rigify(body: Body) -> tuple[Layout, str]:
    lay = Layout()
    spine = [body["pelvis"], body["spine1"], body["spine2"], body["spine3"], body["neck"],
             0.5 * (body["neck"] + body["head"]), body["head"]]
    for k, head in enumerate(spine):
        name = "DEF-spine" if k == 0 else f"DEF-spine.{k:03d}"
        lay.add(name, None if k == 0 else ("DEF-spine" if k == 1 else f"DEF-spine.{k - 1:03d}"), head)
    for side, S in (("left", "L"), ("right", "R")):
        lay.add(f"DEF-shoulder.{S}", "DEF-spine.003", body[f"{side}_collar"])
        shoulder, elbow, wrist = (body[f"{side}_{j}"] for j in ("shoulder", "elbow", "wrist"))
        lay.add(f"DEF-upper_arm.{S}", f"DEF-shoulder.{S}", shoulder)
        lay.add(f"DEF-upper_arm.{S}.001", f"DEF-upper_arm.{S}", 0.5 * (shoulder + elbow))
        lay.add(f"DEF-forearm.{S}", f"DEF-upper_arm.{S}.001", elbow)
        lay.add(f"DEF-forearm.{S}.001", f"DEF-forearm.{S}", 0.5 * (elbow + wrist))
        lay.add(f"DEF-hand.{S}", f"DEF-forearm.{S}.001", wrist)
        for k, finger in enumerate(FINGERS, start=1):
            palm = f"DEF-palm.{k:02d}.{S}"
            lay.add(palm, f"DEF-hand.{S}", wrist + METACARPAL_BASE * (body[f"{side}_{finger}1"] - wrist))
            parent = palm
            for j in (1, 2, 3):
                lay.add(f"DEF-f_{finger}.{j:02d}.{S}", parent, body[f"{side}_{finger}{j}"])
                parent = f"DEF-f_{finger}.{j:02d}.{S}"
        parent = f"DEF-palm.01.{S}"
        for j in (1, 2, 3):
            lay.add(f"DEF-thumb.{j:02d}.{S}", parent, body[f"{side}_thumb{j}"])
            parent = f"DEF-thumb.{j:02d}.{S}"
    for side, S in (("left", "L"), ("right", "R")):
        hip, knee, ankle = (body[f"{side}_{j}"] for j in ("hip", "knee", "ankle"))
        lay.add(f"DEF-pelvis.{S}", "DEF-spine", body["pelvis"])
        lay.add(f"DEF-thigh.{S}", f"DEF-pelvis.{S}", hip)
        lay.add(f"DEF-thigh.{S}.001", f"DEF-thigh.{S}", 0.5 * (hip + knee))
        lay.add(f"DEF-shin.{S}", f"DEF-thigh.{S}.001", knee)
        lay.add(f"DEF-shin.{S}.001", f"DEF-shin.{S}", 0.5 * (knee + ankle))
        lay.add(f"DEF-foot.{S}", f"DEF-shin.{S}.001", ankle)
        lay.add(f"DEF-toe.{S}", f"DEF-foot.{S}", body[f"{side}_foot"])
    how = (
        "Rigify deform (DEF-) bones of the basic human metarig, body and fingers (no face, no breasts), in the "
        "single game-friendly hierarchy (thighs under DEF-pelvis.L/R under DEF-spine, shoulders under "
        "DEF-spine.003), in a T-pose, placed on the SMPL-X rest joints of core/data/smplx_rest.json lifted so the "
        "feet stand on y = 0. DEF-spine (the hips bone) at the pelvis, DEF-spine.001/.002/.003 at spine1/2/3, "
        ".004 at the neck, .005 halfway from neck to head, .006 at the head; DEF-pelvis.L/R start at the pelvis "
        "and end at the hips; shoulder at the collar; the upper arm, forearm, thigh and shin each in two equal "
        "segments (.001 the lower half); hand at the wrist; palm.01-04 (index, middle, ring, pinky) start a quarter "
        "of the way from the wrist to the knuckle; finger and thumb joints .01-.03 on SMPL-X's 1-3; foot at the "
        "ankle, toe at the SMPL-X foot (toe ball)."
    )
    return lay, how


BUILDERS = {
    "metahuman": ("MetaHuman-compatible body skeleton (UE5 bone names), A-pose", metahuman),
    "mixamo": ("Mixamo skeleton (mixamorig: names), T-pose", mixamo),
    "rigify": ("Rigify deform bones (DEF-), T-pose", rigify),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "core" / "retarget" / "data")
    args = parser.parse_args()
    body = Body()
    for name, (description, build) in BUILDERS.items():
        layout, how = build(body)
        header = {"name": name, "description": description, "frame": FRAME, "how": how, "command": COMMAND}
        # One joint per line, so the file reads as a table.
        text = json.dumps(header, indent=1)[:-2] + ',\n "joints": [\n'
        text += ",\n".join("  " + json.dumps(j) for j in layout.joints) + "\n ]\n}\n"
        path = args.out / f"{name}_rest.json"
        path.write_text(text)
        print(f"{path}: {len(layout.joints)} bones")


if __name__ == "__main__":
    main()
