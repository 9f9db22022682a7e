"""keylike.risk"""
