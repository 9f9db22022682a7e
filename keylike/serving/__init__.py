"""keylike.serving"""
