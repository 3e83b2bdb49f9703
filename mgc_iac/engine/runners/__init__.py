"""What does a step's work: the cloud runner (SMS task and ECS through the providers) and the SSH side."""
