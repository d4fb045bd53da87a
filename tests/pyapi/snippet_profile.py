from memattach import Tracker

def memory_intensive_function():
    return [i * i for i in range(1000000)]

with Tracker('memory_profile.bin'):
    result = memory_intensive_function()
