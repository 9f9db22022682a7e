"""keylike.data"""
