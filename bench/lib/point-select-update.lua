-- sysbench script for `npm run bench:translate -- --dialect mysql`: per
-- transaction, four point selects (`SELECT *`, so a migrating table's is
-- rewritten to hide the new column) and one UPDATE by primary key, on
-- --table. Statements go through sysbench's prepared statement API: with
-- --db-ps-mode=auto they are server-side prepared (COM_STMT_EXECUTE), with
-- --db-ps-mode=disable sent as text (COM_QUERY) with the values inlined.

sysbench.cmdline.options = {
  table = {"Table to run against", "ledger"},
  rows = {"Rows in the table (ids 1..rows)", 100000},
  selects = {"Point selects per transaction", 4},
}

function thread_init()
  drv = sysbench.sql.driver()
  con = drv:connect()
  local t = sysbench.opt.table
  select_stmt = con:prepare("SELECT * FROM " .. t .. " WHERE id = ?")
  select_id = select_stmt:bind_create(sysbench.sql.type.INT)
  select_stmt:bind_param(select_id)
  update_stmt = con:prepare("UPDATE " .. t .. " SET balance = ? WHERE id = ?")
  update_balance = update_stmt:bind_create(sysbench.sql.type.INT)
  update_id = update_stmt:bind_create(sysbench.sql.type.INT)
  update_stmt:bind_param(update_balance, update_id)
end

function thread_done()
  select_stmt:close()
  update_stmt:close()
  con:disconnect()
end

function event()
  for _ = 1, sysbench.opt.selects do
    select_id:set(sysbench.rand.default(1, sysbench.opt.rows))
    select_stmt:execute()
  end
  -- Non-negative: sysbench binds its INT parameters unsigned.
  update_balance:set(sysbench.rand.uniform(0, 10000))
  update_id:set(sysbench.rand.default(1, sysbench.opt.rows))
  update_stmt:execute()
end
