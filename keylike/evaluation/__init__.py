"""keylike.evaluation"""
