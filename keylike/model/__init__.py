"""keylike.model"""
