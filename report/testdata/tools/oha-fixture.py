# Builds an oha text summary by following src/printer.rs (print_summary,
# print_histogram, print_distribution, bar) of hatoo/oha 1.15.0 (b8cd846)
# with style disabled (stdout not a terminal), for 2,000 requests with
# --disable-keepalive, 7 of which failed.
import random
random.seed(12)
lat = sorted(random.lognormvariate(-7.6, 0.7) for _ in range(1993))  # seconds
errors = {"connection closed before message completed": 7}
total = 0.1412305
def ts_of(sec):
    for name, s in [("hr",3600),("10 min",600),("min",60),("10 sec",10),("sec",1),("ms",1e-3),("us",1e-6),("ns",1e-9)]:
        if sec > s: return name, s
    return "ns", 1e-9
unit, scale = ts_of(max(lat))
n_all = len(lat) + sum(errors.values())
out = []
w = out.append
w("Summary:")
w("  Success rate:\t%.2f%%" % (100.0*len(lat)/n_all))
w("  Total:\t%.4f %s" % (total/scale, unit))
w("  Slowest:\t%.4f %s" % (max(lat)/scale, unit))
w("  Fastest:\t%.4f %s" % (min(lat)/scale, unit))
w("  Average:\t%.4f %s" % (sum(lat)/len(lat)/scale, unit))
w("  Requests/sec:\t%.4f" % (n_all/total))
w("")
size = 3*len(lat)
w("  Total data:\t%.2f KiB" % (size/1024))
w("  Size/request:\t3.00 B")
w("  Size/sec:\t%.2f KiB" % (int(size/total)/1024))
w("")
w("Response time histogram:")
mn, mx = min(lat), max(lat); step=(mx-mn)/10
import math
b=[0]*11
for v in lat: b[min(math.ceil((v-mn)/step),10)] += 1
hist=[(mn+step*i, b[i]) for i in range(11)]
maxbar=max(c for _,c in hist); strmax=len(str(maxbar))
width=max(len(str(int(l/scale))) for l,_ in hist)+4
for l,c in hist:
    line = "  %*.3f %s [%d]%s |" % (width, l/scale, unit, c, " "*(strmax-len(str(c))))
    line += "■"*int(32*c/maxbar)
    w(line)
w("")
w("Response time distribution:")
for p in [10.0,25.0,50.0,75.0,90.0,95.0,99.0,99.9,99.99]:
    i=int(p/100.0*len(lat)); v=lat[i] if i < len(lat) else float('nan')
    w("  %.2f%% in %.4f %s" % (p, v/scale, unit))
w("")
w("")
dial=[x*0.3 for x in lat[::3]]
w("Details (average, fastest, slowest):")
w("  DNS+dialup:\t%.4f %s, %.4f %s, %.4f %s" % (sum(dial)/len(dial)/scale,unit,min(dial)/scale,unit,max(dial)/scale,unit))
w("  DNS-lookup:\t%.4f %s, %.4f %s, %.4f %s" % (0.0000021/scale,unit,0.0000009/scale,unit,0.0000412/scale,unit))
w("")
w("Status code distribution:")
w("  [200] %d responses" % len(lat))
w("")
w("Error distribution:")
for e,c in errors.items(): w("  [%d] %s" % (c,e))
print("\n".join(out))
