#include "engine/table_damage.h"

namespace organic::engine {

std::vector<BlockDamage> FindDamagedBlocks(const SstableReader& table, size_t max_blocks) {
  std::vector<BlockDamage> damaged;
  for (size_t i = 0; i < table.num_blocks() && damaged.size() < max_blocks; i++) {
    Status st = table.VisitBlock(i, nullptr);
    if (st.ok()) continue;
    BlockDamage d;
    d.block = i;
    d.offset = table.BlockOffset(i);
    d.size = table.BlockSize(i);
    if (i > 0) d.after_key.assign(table.BlockLastKey(i - 1));
    d.last_key.assign(table.BlockLastKey(i));
    d.status = std::move(st);
    damaged.push_back(std::move(d));
  }
  return damaged;
}

}  // namespace organic::engine
