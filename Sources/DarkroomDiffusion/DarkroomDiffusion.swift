// DarkroomDiffusion: noise schedules, the forward process, samplers and the edits of the course, model-agnostic.
