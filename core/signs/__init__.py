"""Sign spotting in continuous signing (issue #17): lexicons of labelled reference clips
(`lexicon`), and temporal non-maximum suppression over sliding-window confidences (`nms`).

bpy-free; everything here works on numpy arrays and files.
"""
