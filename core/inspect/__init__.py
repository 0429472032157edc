"""What the codes mean and how to use them: the codebook atlas, code usage, the token timeline,
and editing motion by editing its tokens (DESIGN.md, core/inspect/)."""
